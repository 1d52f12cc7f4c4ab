import { Suspense, useRef, type MouseEvent } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import { AppShell, Badge, Burger, Button, Group, NavLink, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useSession, useWho } from '../auth';
import type { WhoAmI } from '../api/types';
import { Loading } from './common';

interface NavItem {
  to: string;
  label: string;
}

/** The navigation a role sees: a tenant-admin sees its own tenant and nothing global. */
export function navFor(who: WhoAmI): NavItem[] {
  const items: NavItem[] = [
    { to: '/', label: 'Overview' },
    { to: '/live', label: 'Live decisions' },
  ];
  if (who.role === 'tenant-admin') {
    if (who.tenant) items.push({ to: `/tenants/${encodeURIComponent(who.tenant)}`, label: `Tenant ${who.tenant}` });
  } else {
    items.push({ to: '/tenants', label: 'Tenants' });
  }
  items.push({ to: '/packs', label: 'Packs' }, { to: '/plugins', label: 'Plugins' }, { to: '/feeds', label: 'Threat feeds' }, { to: '/audit', label: 'Audit' });
  if (who.role === 'admin') items.push({ to: '/keys', label: 'API keys' });
  return items;
}

function isActive(pathname: string, to: string): boolean {
  return to === '/' ? pathname === '/' : pathname === to || pathname.startsWith(`${to}/`);
}

export function Layout() {
  const who = useWho();
  const { logout } = useSession();
  const [opened, { toggle, close }] = useDisclosure(false);
  const { pathname } = useLocation();
  const main = useRef<HTMLElement>(null);

  const skip = (e: MouseEvent<HTMLAnchorElement>) => {
    // The router uses the URL's hash: move focus without navigating.
    e.preventDefault();
    main.current?.focus();
  };

  return (
    <>
      <a className="skip-link" href="#main" onClick={skip}>
        Skip to content
      </a>
      <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group gap="sm" wrap="nowrap">
              <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
              <Text fw={700} size="lg">
                ArticDBM console
              </Text>
            </Group>
            <Group gap="sm" wrap="nowrap">
              <Text size="sm" data-testid="whoami">
                {who.name}
              </Text>
              <Badge variant="outline" data-testid="role">
                {who.role}
                {who.tenant ? `: ${who.tenant}` : ''}
              </Badge>
              <Button variant="subtle" size="compact-sm" onClick={logout}>
                Log out
              </Button>
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs" aria-label="Main navigation" component="nav">
          {navFor(who).map((item) => (
            <NavLink
              key={item.to}
              component={Link}
              to={item.to}
              label={item.label}
              active={isActive(pathname, item.to)}
              aria-current={isActive(pathname, item.to) ? 'page' : undefined}
              onClick={close}
            />
          ))}
        </AppShell.Navbar>
        <AppShell.Main id="main" ref={main} tabIndex={-1}>
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </AppShell.Main>
      </AppShell>
    </>
  );
}
