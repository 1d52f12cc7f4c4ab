import { lazy, Suspense } from 'react';
import { HashRouter, Navigate, Route, Routes } from 'react-router';
import { Center } from '@mantine/core';
import { SessionProvider, useSession } from './auth';
import { Loading } from './components/common';
import { Layout } from './components/Layout';
import { LoginPage } from './pages/Login';

// Route-level code splitting: the charts (Overview) and the CodeMirror editor (Packs) are
// separate chunks, loaded when their page is opened.
const Overview = lazy(() => import('./pages/Overview'));
const Live = lazy(() => import('./pages/Live'));
const Tenants = lazy(() => import('./pages/Tenants'));
const TenantPage = lazy(() => import('./pages/Tenant'));
const Packs = lazy(() => import('./pages/Packs'));
const PackPage = lazy(() => import('./pages/Pack'));
const Plugins = lazy(() => import('./pages/Plugins'));
const Feeds = lazy(() => import('./pages/Feeds'));
const Audit = lazy(() => import('./pages/Audit'));
const Keys = lazy(() => import('./pages/Keys'));
const NotFound = lazy(() => import('./pages/NotFound'));

function Routed() {
  const { who, checking } = useSession();
  if (checking) {
    return (
      <Center h="100vh">
        <Loading label="Checking the session" />
      </Center>
    );
  }
  if (!who) {
    return (
      <Routes>
        <Route path="*" element={<LoginPage />} />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Overview />} />
        <Route path="live" element={<Live />} />
        <Route path="tenants" element={who.role === 'tenant-admin' && who.tenant ? <Navigate to={`/tenants/${encodeURIComponent(who.tenant)}`} replace /> : <Tenants />} />
        <Route path="tenants/:tenant" element={<TenantPage />} />
        <Route path="packs" element={<Packs />} />
        <Route path="packs/:name" element={<PackPage />} />
        <Route path="plugins" element={<Plugins />} />
        <Route path="feeds" element={<Feeds />} />
        <Route path="audit" element={<Audit />} />
        {who.role === 'admin' ? <Route path="keys" element={<Keys />} /> : null}
        <Route path="login" element={<Navigate to="/" replace />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <SessionProvider>
      <HashRouter>
        <Suspense
          fallback={
            <Center h="50vh">
              <Loading />
            </Center>
          }
        >
          <Routed />
        </Suspense>
      </HashRouter>
    </SessionProvider>
  );
}
