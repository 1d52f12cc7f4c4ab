// MySQL driver matrix program for MariaDB Connector/J (tests/tests/my_gateway.rs): several
// clients at once, each checking that every answer is its own, with server-side prepared
// statements (useServerPrepStmts) reused across transactions, and batches. Environment and
// output as tests/drivers/python/mysql_matrix.py (tests/drivers/README.md).
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

public class MyMatrix {
    static final AtomicLong completed = new AtomicLong(), ok = new AtomicLong(),
        mismatches = new AtomicLong(), errors = new AtomicLong();
    static final List<String> mismatchExamples = Collections.synchronizedList(new ArrayList<>());
    static final List<String> errorExamples = Collections.synchronizedList(new ArrayList<>());
    static final Set<String> errorKinds = ConcurrentHashMap.newKeySet();

    static String env(String k, String d) { String v = System.getenv(k); return v == null || v.isEmpty() ? d : v; }

    static Connection connect() throws SQLException {
        String url = "jdbc:mariadb://" + env("MYHOST", "127.0.0.1") + ":" + env("MYPORT", "3306") + "/"
            + env("MYDATABASE", "shop") + "?useServerPrepStmts=true&useSsl=false";
        return DriverManager.getConnection(url, env("MYUSER", ""), env("MYPASSWORD", ""));
    }

    static void mismatch(int i, String what) {
        mismatches.incrementAndGet();
        if (mismatchExamples.size() < 5) mismatchExamples.add("client" + i + ": " + what);
    }

    static void error(int i, Exception e) {
        errors.incrementAndGet();
        String kind = e.getClass().getSimpleName() + (e instanceof SQLException ? ((SQLException) e).getErrorCode() : 0);
        if (errorKinds.add(kind) && errorExamples.size() < 5) errorExamples.add("client" + i + ": " + e);
    }

    static void client(int i, int iters, boolean gateway) {
        try (Connection c = connect()) {
            c.setAutoCommit(true);
            for (int n = 0; n < iters; n++) {
                String label = "client" + i + " 'q' \\ é ✓ " + n;
                try (PreparedStatement ps = c.prepareStatement("SELECT ?, ?, ?")) {
                    ps.setInt(1, i); ps.setString(2, label); ps.setNull(3, Types.VARCHAR);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) == i && label.equals(rs.getString(2)) && rs.getString(3) == null) ok.incrementAndGet();
                        else mismatch(i, "select gave " + rs.getInt(1) + " " + rs.getString(2));
                    }
                }
                c.setAutoCommit(false);
                try (PreparedStatement ins = c.prepareStatement("INSERT INTO drv_rows (client, n, v) VALUES (?, ?, ?)")) {
                    ins.setInt(1, i); ins.setInt(2, n); ins.setString(3, label); ins.addBatch();
                    ins.setInt(1, i); ins.setInt(2, 100000 + n); ins.setString(3, label); ins.addBatch();
                    ins.executeBatch();
                }
                long count;
                try (PreparedStatement q = c.prepareStatement("SELECT COUNT(*) FROM drv_rows WHERE client = ?")) {
                    q.setInt(1, i);
                    try (ResultSet rs = q.executeQuery()) { rs.next(); count = rs.getLong(1); }
                }
                if (n % 4 == 3) c.rollback(); else c.commit();
                c.setAutoCommit(true);
                long expected = 2L * (n - n / 4 + 1);
                if (count == expected) ok.incrementAndGet();
                else mismatch(i, "round " + n + ": " + count + " rows, expected " + expected);
                try (PreparedStatement dup = c.prepareStatement("INSERT INTO drv_rows (client, n, v) VALUES (?, 0, 'dup')")) {
                    dup.setInt(1, i); dup.executeUpdate();
                    mismatch(i, "duplicate key accepted");
                } catch (SQLException e) {
                    if (e.getErrorCode() == 1062) ok.incrementAndGet(); else error(i, e);
                }
                completed.incrementAndGet();
            }
            if (gateway) {
                try (PreparedStatement ps = c.prepareStatement("SELECT n FROM drv_rows WHERE client = ? OR 1=1")) {
                    ps.setInt(1, i); ps.executeQuery();
                    mismatch(i, "injection not refused");
                } catch (SQLException e) {
                    if (e.getErrorCode() == 1142 && e.getMessage().contains("sqli.")) ok.incrementAndGet(); else error(i, e);
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT ?")) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); if (rs.getInt(1) == i) ok.incrementAndGet(); else mismatch(i, "after the refusal"); }
                }
            }
        } catch (Exception e) {
            error(i, e);
        }
    }

    public static void main(String[] args) throws Exception {
        long start = System.currentTimeMillis();
        int clients = Integer.parseInt(env("DRV_CLIENTS", "8"));
        int iters = Integer.parseInt(env("DRV_ITERS", "30"));
        long deadline = Long.parseLong(env("DRV_DEADLINE_SECS", "60"));
        boolean gateway = env("DRV_GATEWAY", "1").equals("1");
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS drv_rows");
            s.execute("CREATE TABLE drv_rows (client INT NOT NULL, n INT NOT NULL, v LONGTEXT, PRIMARY KEY (client, n)) CHARACTER SET utf8mb4");
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> runs = new ArrayList<>();
        for (int i = 0; i < clients; i++) { final int id = i; runs.add(pool.submit(() -> client(id, iters, gateway))); }
        pool.shutdown();
        pool.awaitTermination(deadline, TimeUnit.SECONDS);
        List<Integer> unfinished = new ArrayList<>();
        for (int i = 0; i < clients; i++) if (!runs.get(i).isDone()) unfinished.add(i);
        errors.addAndGet(unfinished.size());
        StringBuilder j = new StringBuilder();
        j.append("{\"driver\": \"connector-j\", \"clients\": ").append(clients).append(", \"iterations\": ").append(iters)
         .append(", \"completed\": ").append(completed.get()).append(", \"ok\": ").append(ok.get())
         .append(", \"mismatches\": ").append(mismatches.get()).append(", \"errors\": ").append(errors.get())
         .append(", \"mismatch_examples\": ").append(quote(mismatchExamples)).append(", \"error_examples\": ").append(quote(errorExamples))
         .append(", \"unfinished\": ").append(unfinished).append(", \"seconds\": ").append((System.currentTimeMillis() - start) / 1000.0).append("}");
        System.out.println(j);
        System.exit(0);
    }

    static String quote(List<String> l) {
        StringBuilder b = new StringBuilder("[");
        synchronized (l) {
            for (int k = 0; k < l.size(); k++) {
                if (k > 0) b.append(", ");
                b.append('"').append(l.get(k).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ")).append('"');
            }
        }
        return b.append(']').toString();
    }
}
