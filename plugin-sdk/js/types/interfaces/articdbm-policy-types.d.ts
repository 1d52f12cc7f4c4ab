// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/types@0.1.2' {
  /**
   * The wire protocol the client speaks to the gateway.
   * # Variants
   * 
   * ## `"postgres"`
   * 
   * ## `"mysql"`
   * 
   * ## `"sqlite"`
   */
  export type Protocol = 'postgres' | 'mysql' | 'sqlite';
  /**
   * Everything the gateway knows about one client connection. The same record is passed to
   * `on-connect` and, unchanged, to every `on-query` of that connection.
   */
  export interface Connection {
    /**
     * Identifier of the connection, unique within one gateway process.
     */
    id: bigint,
    /**
     * The tenant the user belongs to. Host capabilities are scoped to this tenant.
     */
    tenant: string,
    /**
     * The gateway user the client authenticated as (not the backend role).
     */
    user: string,
    /**
     * Roles granted to the user in gateway configuration; permissions may name roles.
     */
    roles: Array<string>,
    /**
     * The logical database the client asked for.
     */
    database: string,
    /**
     * The client's IP address as text ("192.0.2.7", "2001:db8::1"), without port.
     */
    clientAddr: string,
    /**
     * The client's TCP source port.
     */
    clientPort: number,
    /**
     * True when the client connection is encrypted with TLS.
     */
    tls: boolean,
    /**
     * Wire protocol of the client connection.
     */
    protocol: Protocol,
    /**
     * `application_name` (PostgreSQL) or program name (MySQL) the client sent, if any.
     */
    applicationName?: string,
    /**
     * When the user's account expires, in milliseconds since the Unix epoch, if it does.
     */
    accountExpiresAt?: bigint,
  }
  /**
   * What kind of statement the SQL is. DDL is split by verb so permissions can tell
   * `create` from `drop`.
   * # Variants
   * 
   * ## `"select"`
   * 
   * ## `"insert"`
   * 
   * ## `"update"`
   * 
   * ## `"delete"`
   * 
   * ## `"merge"`
   * 
   * ## `"create"`
   * 
   * ## `"alter"`
   * 
   * ## `"drop"`
   * 
   * ## `"truncate"`
   * 
   * ## `"grant"`
   * 
   * ## `"revoke"`
   * 
   * ## `"begin"`
   * 
   * ## `"commit"`
   * 
   * ## `"rollback"`
   * 
   * ## `"savepoint"`
   * 
   * ## `"set"`
   * 
   * ## `"show"`
   * 
   * ## `"copy"`
   * 
   * ## `"explain"`
   * 
   * ## `"call"`
   * 
   * ## `"prepare"`
   * 
   * ## `"execute"`
   * 
   * ## `"deallocate"`
   * 
   * ## `"listen"`
   * 
   * ## `"notify"`
   * 
   * ## `"vacuum"`
   * 
   * ## `"analyze"`
   * 
   * ## `"lock"`
   * 
   * ## `"use-database"`
   * 
   * ## `"other"`
   */
  export type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'merge' | 'create' | 'alter' | 'drop' | 'truncate' | 'grant' | 'revoke' | 'begin' | 'commit' | 'rollback' | 'savepoint' | 'set' | 'show' | 'copy' | 'explain' | 'call' | 'prepare' | 'execute' | 'deallocate' | 'listen' | 'notify' | 'vacuum' | 'analyze' | 'lock' | 'use-database' | 'other';
  /**
   * How a statement uses a table.
   * # Variants
   * 
   * ## `"read"`
   * 
   * ## `"insert"`
   * 
   * ## `"update"`
   * 
   * ## `"delete"`
   * 
   * ## `"ddl"`
   * 
   * CREATE, ALTER, DROP, TRUNCATE and similar schema changes.
   */
  export type AccessMode = 'read' | 'insert' | 'update' | 'delete' | 'ddl';
  /**
   * The clause in which an expression (a function call, a comparison) appears.
   * # Variants
   * 
   * ## `"projection"`
   * 
   * The select list, `RETURNING`, or the expression of a bare `SELECT f()`.
   * ## `"from"`
   * 
   * ## `"join-condition"`
   * 
   * ## `"where"`
   * 
   * ## `"having"`
   * 
   * ## `"group-by"`
   * 
   * ## `"order-by"`
   * 
   * ## `"limit"`
   * 
   * ## `"values"`
   * 
   * `VALUES` rows and `SET col = ...` assignments.
   * ## `"other"`
   */
  export type Clause = 'projection' | 'from' | 'join-condition' | 'where' | 'having' | 'group-by' | 'order-by' | 'limit' | 'values' | 'other';
  /**
   * One table the statement touches.
   */
  export interface TableAccess {
    /**
     * Schema or database qualifier, lowercased unless it was quoted.
     */
    schema?: string,
    /**
     * Table name, lowercased unless it was quoted.
     */
    name: string,
    access: AccessMode,
    /**
     * True when the table appears only inside a subquery that sits in a predicate
     * (WHERE / HAVING / JOIN ON), or in a UNION branch after the first. Injection that
     * reads other tables lands here; ordinary FROM-clause tables do not.
     */
    nested: boolean,
  }
  /**
   * One function call found anywhere in the statement.
   */
  export interface FunctionCall {
    /**
     * Function name, lowercased, with its schema qualifier if any ("pg_catalog.pg_sleep").
     */
    name: string,
    /**
     * Where the call appears.
     */
    clause: Clause,
  }
  /**
   * # Variants
   * 
   * ## `"line"`
   * 
   * `-- ...` to end of line.
   * ## `"block"`
   * 
   * `/* ... *\/`.
   * ## `"hash"`
   * 
   * MySQL `# ...` to end of line.
   * ## `"conditional"`
   * 
   * MySQL executable comment `/*! ... *\/`.
   */
  export type CommentKind = 'line' | 'block' | 'hash' | 'conditional';
  /**
   * # Variants
   * 
   * ## `"leading"`
   * 
   * Before the first token of the statement.
   * ## `"inner"`
   * 
   * Between tokens.
   * ## `"trailing"`
   * 
   * After the last token (truncation comments land here).
   */
  export type CommentPosition = 'leading' | 'inner' | 'trailing';
  export interface Comment {
    kind: CommentKind,
    position: CommentPosition,
    /**
     * The comment body without its delimiters, truncated to 256 bytes.
     */
    text: string,
  }
  /**
   * How a predicate term is joined to the rest of its boolean expression.
   * # Variants
   * 
   * ## `"none"`
   * 
   * The term is the whole predicate.
   * ## `"and"`
   * 
   * ## `"or"`
   */
  export type Connective = 'none' | 'and' | 'or';
  /**
   * A comparison whose two sides contain no column reference, placeholder or subquery:
   * `1=1`, `'a'<>'b'`, `2>1`, `5 BETWEEN 1 AND 9`, `'x' LIKE 'x'`. Query builders emit
   * `WHERE 1=1 AND ...`; injected boolean probes append `AND 4821=4821` or `OR 'a'='a'`.
   * The facts say where the comparison sits so a plugin can tell the two apart.
   */
  export interface ConstantComparison {
    /**
     * The operator as written, uppercased ("=", "<>", "LIKE", "BETWEEN", "IN", "IS").
     */
    op: string,
    /**
     * some(true) when it always holds, some(false) when it never does, none when the host
     * could not evaluate it.
     */
    value?: boolean,
    /**
     * How the term is joined to its neighbours (the nearest enclosing AND / OR chain).
     */
    connective: Connective,
    /**
     * Zero-based position of the term in that chain.
     */
    position: number,
    /**
     * Number of terms in that chain.
     */
    chainLength: number,
    /**
     * The clause the chain belongs to.
     */
    clause: Clause,
    /**
     * True when some other term of the whole predicate references a column.
     */
    besideColumnPredicate: boolean,
  }
  /**
   * Counts of literal values in the statement.
   */
  export interface LiteralCounts {
    strings: number,
    numbers: number,
    /**
     * `$1`, `?`, `:name` placeholders: data bound separately, never SQL.
     */
    placeholders: number,
    nulls: number,
    booleans: number,
    /**
     * Hex and binary string literals (`0x41`, `X'41'`, `B'01'`).
     */
    hex: number,
  }
  /**
   * Structured facts about a statement, extracted once by the host with a real SQL parser
   * (dialect by protocol) and cached by statement text.
   */
  export interface QueryFacts {
    /**
     * False when the SQL did not parse. The other fields are then filled from the token
     * stream only (comments, literals, statement count by `;`). Plugins decide what an
     * unparsable statement means.
     */
    parsed: boolean,
    /**
     * The parser's message when `parsed` is false.
     */
    parseError?: string,
    /**
     * Statement kinds, one per statement, in order.
     */
    statements: Array<StatementKind>,
    /**
     * True when the SQL text holds more than one statement (`...; DROP TABLE x`).
     */
    stacked: boolean,
    tables: Array<TableAccess>,
    functions: Array<FunctionCall>,
    comments: Array<Comment>,
    /**
     * Number of UNION / INTERSECT / EXCEPT set operations.
     */
    unionCount: number,
    /**
     * True when a UNION branch selects only literal values or NULLs (column-count probes).
     */
    unionLiteralBranch: boolean,
    constantComparisons: Array<ConstantComparison>,
    literals: LiteralCounts,
    /**
     * True for `SELECT ... INTO OUTFILE/DUMPFILE` and server-side file access.
     */
    fileAccess: boolean,
    /**
     * True for locking reads (`FOR UPDATE`, `FOR SHARE`, `LOCK IN SHARE MODE`).
     */
    lockingRead: boolean,
  }
  /**
   * One statement to be judged.
   */
  export interface Query {
    /**
     * The SQL text of this statement exactly as the client sent it.
     */
    sql: string,
    facts: QueryFacts,
    /**
     * For extended-protocol Parse / MySQL prepare: the statement name the client gave.
     */
    preparedName?: string,
    /**
     * True when the connection is inside an explicit transaction block.
     */
    inTransaction: boolean,
  }
  /**
   * Why a rule fired.
   */
  export interface Finding {
    /**
     * Stable rule identifier, e.g. "sqli.tautology". Shown to the client and in audit.
     */
    rule: string,
    /**
     * Human-readable reason. Shown to the client: never put secrets here.
     */
    reason: string,
    /**
     * Optional risk score in [0, 1].
     */
    score?: number,
  }
  /**
   * A plugin's decision.
   */
  export type Verdict = VerdictAllow | VerdictDeny | VerdictAudit;
  /**
   * Let it through.
   */
  export interface VerdictAllow {
    tag: 'allow',
  }
  /**
   * Refuse it. The client gets a protocol error naming the rule; the connection stays.
   */
  export interface VerdictDeny {
    tag: 'deny',
    val: Finding,
  }
  /**
   * Let it through but record the finding in the audit trail.
   */
  export interface VerdictAudit {
    tag: 'audit',
    val: Finding,
  }
  /**
   * Kinds of indicator a feed parser can produce and the host can look up.
   * # Variants
   * 
   * ## `"address"`
   * 
   * An IPv4 or IPv6 address, or a CIDR block ("198.51.100.0/24").
   * ## `"domain"`
   * 
   * ## `"url"`
   * 
   * ## `"user"`
   * 
   * A user or account name.
   * ## `"email"`
   * 
   * ## `"sql-pattern"`
   * 
   * A SQL fragment or pattern to match statements against.
   */
  export type IndicatorKind = 'address' | 'domain' | 'url' | 'user' | 'email' | 'sql-pattern';
}
