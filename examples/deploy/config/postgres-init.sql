-- Run once by the postgres image on an empty volume: the application database the gateways
-- front (the manager's store is the image's own POSTGRES_DB, articdbm).
CREATE ROLE shop LOGIN PASSWORD 'shop-password';
CREATE DATABASE shop OWNER shop;
