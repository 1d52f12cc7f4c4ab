// Shapes of the API's answers (manager/src/api.rs, manager/src/feeds/api.rs, docs/ui-brief).

export type Role = 'admin' | 'tenant-admin' | 'auditor' | 'gateway';

export interface WhoAmI {
  role: Role;
  tenant: string | null;
  name: string;
}

export interface Items<T> {
  items: T[];
}

export interface Paged<T, C = string> {
  items: T[];
  next: C | null;
}

export interface Tenant {
  name: string;
  description: string | null;
  created_at: number;
}

export interface GatewayUser {
  name: string;
  tenant: string;
  roles: string[];
  databases: string[] | null;
  expires_at: string | null;
  require_tls: boolean;
  allowed_networks: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Token {
  id: string;
  user: string;
  expires_at: string;
  max_uses: number;
  created_at: number;
}

export interface NewTokenAnswer extends Token {
  token: string;
}

export interface Backend {
  host: string;
  port: number;
  role?: string;
}

export interface Database {
  name: string;
  tenant: string;
  server_user?: string;
  server_password?: string;
  server_database?: string;
  tls?: string;
  backend?: Backend[];
  [k: string]: unknown;
}

export interface Permission {
  id: string;
  users?: string[];
  roles?: string[];
  databases?: string[];
  tables?: string[];
  actions?: string[];
  effect?: string;
  expires_at?: string;
  created_at?: number;
  [k: string]: unknown;
}

export interface Pack {
  name: string;
  tenant: string | null;
  kind: 'baseline' | 'tenant' | null;
  mode: 'monitor' | 'enforce' | null;
  toml: string | null;
  updated_at: number;
  snapshot_version?: number;
}

export interface PluginStats {
  calls?: number;
  failures?: Record<string, number>;
  mean_us?: number;
  quarantined?: string[];
}

export interface Plugin {
  name: string;
  enabled: boolean;
  active_version: number;
  sha256: string | null;
  description: string | null;
  stats?: PluginStats | null;
}

export interface PluginVersion {
  version: number;
  sha256: string;
  size: number;
  created_at: number;
  manifest_version: string | null;
  config_schema: unknown;
}

export interface PluginDetail {
  name: string;
  enabled: boolean;
  active_version: number;
  versions: PluginVersion[];
}

export interface Gateway {
  id: string;
  name: string;
  version: string;
  snapshot_version: number;
  last_seen: number;
  age_ms?: number;
  current?: boolean;
}

export interface Gateways extends Items<Gateway> {
  snapshot_version?: number;
}

export interface StatsBucket {
  at: number;
  queries: number;
  denials: number;
}

export interface Stats {
  window: number;
  step: number;
  buckets: StatsBucket[];
  denials_by_rule: { rule: string; count: number }[];
  totals: { queries: number; denials: number };
}

export type Verdict = 'deny' | 'would-deny' | 'audit' | 'allow';

export interface AuditDetail {
  client_addr?: string;
  rule?: string;
  plugin?: string;
  binding?: string;
  reason?: string;
  sql?: string;
  [k: string]: unknown;
}

export interface AuditEvent {
  id: string;
  at: number;
  tenant: string;
  actor: string;
  action: string;
  target: string;
  verdict: Verdict | string;
  detail: AuditDetail | null;
}

export interface FeedStatus {
  last_attempt: number | null;
  last_success: number | null;
  last_error: string | null;
  indicators: number;
}

export interface Feed {
  name: string;
  key: string;
  tenant?: string;
  format: string;
  url?: string;
  parser: string;
  interval: string;
  default_confidence: number;
  enabled: boolean;
  status: FeedStatus;
}

export interface Indicator {
  feed: string;
  tenant: string | null;
  kind: string;
  value: string;
  id: string;
  confidence: number;
  valid_from: number | null;
  valid_until: number | null;
  labels: string[];
  first_seen: number;
  last_seen: number;
  seq: number;
}

export interface Bypass {
  addresses: string[];
  users: string[];
  indicators: string[];
}

export interface TryStatement {
  sql: string;
  user?: string;
  tenant?: string;
  roles?: string[];
  database?: string;
  client_addr?: string;
  tls?: boolean;
  protocol?: 'postgres' | 'mysql';
}

export interface TryResult {
  line: number;
  verdict: string;
  hook: string;
  plugin?: string;
  binding?: string;
  rule?: string;
  reason?: string;
  findings: unknown[];
}
