// pgjdbc, several threads at once (one connection each), each checking it gets exactly its own
// answers. pgjdbc runs a statement as the unnamed statement for its first executions and
// switches to a named server statement (S_1, S_2, ... in every session, so the same name means
// a different text where the text names the client) once a statement has run prepareThreshold
// (5) times on a connection; it then sends only Bind/Execute. Also batches (addBatch /
// executeBatch: many Bind/Execute before one Sync) and transactions committed or rolled back.
//
// Run as a single-file program: java -cp postgresql.jar Matrix.java
// Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, DRV_CLIENTS, DRV_ITERS,
// DRV_DEADLINE_SECS (see tests/drivers/python/common.py). Prints one JSON line.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

public class Matrix {
    static final int CLIENTS = Integer.parseInt(env("DRV_CLIENTS", "8"));
    static final int ITERS = Integer.parseInt(env("DRV_ITERS", "60"));
    static final int DEADLINE_SECS = Integer.parseInt(env("DRV_DEADLINE_SECS", "20"));
    static final int MAX_ERRORS_PER_CLIENT = 10;
    static final int EXAMPLES = 5;

    static final String UPDATE_ROW =
            "UPDATE drv_jdbc SET n = n + 1, who = ? WHERE client = ? RETURNING n, who";
    static final String READ_ROW = "SELECT n, who FROM drv_jdbc WHERE client = ?";

    static final long STARTED = System.nanoTime();
    static int ok, completed, mismatches, errors;
    static final List<String> mismatchExamples = new ArrayList<>();
    static final List<String> errorExamples = new ArrayList<>();
    static final java.util.Set<String> errorKinds = new java.util.HashSet<>();
    static final boolean[] done = new boolean[CLIENTS + 1];
    static final List<String> unfinished = new ArrayList<>();

    static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : v;
    }

    static synchronized void check(int c, String what, Object got, Object want) {
        if (Objects.equals(got, want)) {
            ok++;
            return;
        }
        mismatches++;
        if (mismatchExamples.size() < EXAMPLES) {
            mismatchExamples.add(clip("client " + c + " " + what + ": got " + got + ", want " + want));
        }
    }

    static synchronized void error(int c, String what, Throwable e) {
        errors++;
        String state = e instanceof SQLException s && s.getSQLState() != null ? " [" + s.getSQLState() + "]" : "";
        String msg = String.valueOf(e.getMessage()).replace('\n', ' ');
        // One example per kind of error, so a rare one is not hidden by a frequent one.
        String kind = e.getClass().getSimpleName() + state + msg.substring(0, Math.min(60, msg.length()));
        if (errorExamples.size() < EXAMPLES && errorKinds.add(kind)) {
            errorExamples.add(clip("client " + c + " " + what + ": " + e.getClass().getSimpleName() + ": " + msg + state));
        }
    }

    static synchronized void iterationDone() {
        completed++;
    }

    static String clip(String s) {
        return s.length() > 400 ? s.substring(0, 400) : s;
    }

    static Connection connect() throws SQLException {
        String url = "jdbc:postgresql://" + System.getenv("PGHOST") + ":" + System.getenv("PGPORT") + "/"
                + System.getenv("PGDATABASE") + "?sslmode=disable&connectTimeout=10&socketTimeout=10";
        Properties p = new Properties();
        p.setProperty("user", System.getenv("PGUSER"));
        p.setProperty("password", System.getenv("PGPASSWORD"));
        return DriverManager.getConnection(url, p);
    }

    static void setup() throws SQLException {
        try (Connection conn = connect(); Statement st = conn.createStatement()) {
            st.execute("DROP TABLE IF EXISTS drv_jdbc");
            st.execute("DROP TABLE IF EXISTS drv_jdbc_log");
            st.execute("CREATE TABLE drv_jdbc (client int PRIMARY KEY, n int NOT NULL, who text NOT NULL)");
            st.execute("CREATE TABLE drv_jdbc_log (client int NOT NULL, seq int NOT NULL, k int NOT NULL)");
            try (PreparedStatement ins = conn.prepareStatement("INSERT INTO drv_jdbc (client, n, who) VALUES (?, 0, 'init')")) {
                for (int c = 1; c <= CLIENTS; c++) {
                    ins.setInt(1, c);
                    ins.addBatch();
                }
                ins.executeBatch();
            }
        }
    }

    /** One row of two columns as "a|b"; "rows: ..." when there is not exactly one. */
    static String one(ResultSet rs) throws SQLException {
        List<String> rows = new ArrayList<>();
        int cols = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            StringBuilder b = new StringBuilder();
            for (int i = 1; i <= cols; i++) {
                if (i > 1) b.append('|');
                b.append(rs.getString(i));
            }
            rows.add(b.toString());
        }
        rs.close();
        return rows.size() == 1 ? rows.get(0) : "rows: " + rows;
    }

    static final class Client {
        final int c;
        Connection conn;
        PreparedStatement who, upd, read, ins, logged;
        int n = 0;
        String lastWho = "init";

        Client(int c) {
            this.c = c;
        }

        void open() throws SQLException {
            conn = connect();
            conn.setAutoCommit(false);
            who = conn.prepareStatement("SELECT ?::int AS id, ?::text AS who");
            upd = conn.prepareStatement(UPDATE_ROW);
            read = conn.prepareStatement(READ_ROW);
            ins = conn.prepareStatement("INSERT INTO drv_jdbc_log (client, seq, k) VALUES (?, ?, ?)");
            logged = conn.prepareStatement(
                    "SELECT count(*)::int, sum(k)::int FROM drv_jdbc_log WHERE client = ? AND seq = ?");
        }

        void iteration(int i) throws SQLException {
            String w = "c" + c + "-i" + i;
            who.setInt(1, c);
            who.setString(2, w);
            check(c, "prepared select", one(who.executeQuery()), c + "|" + w);
            // A new statement object each time: pgjdbc counts executions per SQL text on the
            // connection, so this one too becomes a named statement after five.
            try (PreparedStatement tag = conn.prepareStatement("SELECT ?::int AS i, " + c + "::int AS tag")) {
                tag.setInt(1, i);
                check(c, "per-client statement text", one(tag.executeQuery()), i + "|" + c);
            }
            upd.setString(1, w);
            upd.setInt(2, c);
            check(c, "update returning", one(upd.executeQuery()), (n + 1) + "|" + w);
            read.setInt(1, c);
            check(c, "read in transaction", one(read.executeQuery()), (n + 1) + "|" + w);
            if (i % 4 == 3) {
                conn.rollback();
            } else {
                conn.commit();
                n++;
                lastWho = w;
            }
            read.setInt(1, c);
            check(c, "read own row", one(read.executeQuery()), n + "|" + lastWho);
            conn.commit();
            if (i % 5 == 0) {
                int sum = 0;
                for (int k = 0; k < 10; k++) {
                    ins.setInt(1, c);
                    ins.setInt(2, i);
                    ins.setInt(3, k);
                    ins.addBatch();
                    sum += k;
                }
                int[] counts = ins.executeBatch();
                check(c, "batch update counts", counts.length, 10);
                conn.commit();
                logged.setInt(1, c);
                logged.setInt(2, i);
                check(c, "batch rows", one(logged.executeQuery()), "10|" + sum);
                conn.commit();
            }
        }

        void run() {
            int errs = 0;
            try {
                open();
            } catch (SQLException e) {
                error(c, "connect", e);
                return;
            }
            for (int i = 0; i < ITERS; i++) {
                try {
                    iteration(i);
                    iterationDone();
                } catch (SQLException e) {
                    error(c, "iteration " + i, e);
                    if (++errs >= MAX_ERRORS_PER_CLIENT) break;
                    recover();
                }
            }
            try {
                conn.close();
            } catch (SQLException e) {
                // Closing a broken connection: nothing left to check.
            }
        }

        /** After an error: roll back (or reconnect) and learn the row's committed state again. */
        void recover() {
            try {
                conn.rollback();
            } catch (SQLException e) {
                try {
                    conn.close();
                } catch (SQLException ignored) {
                    // Already broken.
                }
                try {
                    open();
                } catch (SQLException e2) {
                    error(c, "reconnect", e2);
                    return;
                }
            }
            try {
                read.setInt(1, c);
                try (ResultSet rs = read.executeQuery()) {
                    if (rs.next()) {
                        n = rs.getInt(1);
                        lastWho = rs.getString(2);
                    }
                }
                conn.commit();
            } catch (SQLException e) {
                error(c, "resync", e);
            }
        }
    }

    static synchronized String summary() {
        StringBuilder b = new StringBuilder();
        b.append("{\"driver\":\"pgjdbc\",\"clients\":").append(CLIENTS)
                .append(",\"iterations\":").append(ITERS)
                .append(",\"completed\":").append(completed)
                .append(",\"ok\":").append(ok)
                .append(",\"mismatches\":").append(mismatches)
                .append(",\"errors\":").append(errors)
                .append(",\"mismatch_examples\":").append(jsonList(mismatchExamples))
                .append(",\"error_examples\":").append(jsonList(errorExamples))
                .append(",\"unfinished\":").append(unfinished.toString().replace(" ", ""))
                .append(",\"seconds\":").append((System.nanoTime() - STARTED) / 1_000_000 / 1000.0)
                .append('}');
        return b.toString();
    }

    static String jsonList(List<String> items) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) b.append(',');
            b.append('"');
            for (char ch : items.get(i).toCharArray()) {
                switch (ch) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    default -> {
                        if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
                        else b.append(ch);
                    }
                }
            }
            b.append('"');
        }
        return b.append(']').toString();
    }

    public static void main(String[] args) throws Exception {
        try {
            setup();
        } catch (SQLException e) {
            error(0, "setup", e);
            System.out.println(summary());
            System.exit(0);
        }
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        for (int c = 1; c <= CLIENTS; c++) {
            final int id = c;
            pool.execute(() -> {
                try {
                    new Client(id).run();
                } catch (RuntimeException e) {
                    error(id, "client", e);
                }
                synchronized (Matrix.class) {
                    done[id] = true;
                }
            });
        }
        pool.shutdown();
        if (!pool.awaitTermination(DEADLINE_SECS, TimeUnit.SECONDS)) {
            synchronized (Matrix.class) {
                for (int c = 1; c <= CLIENTS; c++) {
                    if (!done[c]) {
                        unfinished.add(String.valueOf(c));
                        error(c, "deadline", new RuntimeException("still running after " + DEADLINE_SECS + "s"));
                    }
                }
            }
        }
        System.out.println(summary());
        System.out.flush();
        // Threads stuck on a socket must not keep the JVM alive.
        System.exit(0);
    }
}
