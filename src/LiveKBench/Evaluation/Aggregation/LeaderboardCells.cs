using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using LiveKBench.Arena.Store;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Evaluation.Aggregation;

/// <summary>
/// The leaderboard's derived table: one <see cref="LeaderboardCell"/> per (agent configuration, bug) with runs,
/// holding every run's scores so a query reads one row per cell instead of every run and evaluation.
/// </summary>
/// <remarks>
/// <para>
/// Staleness: SQLite triggers (migration LeaderboardCells) add the (configuration, bug) of every inserted,
/// deleted or relevantly updated agent run, crash-resolution, judge or localization evaluation to
/// <see cref="LeaderboardDirtyCell"/> in the writer's own transaction. <see cref="Refresh"/> recomputes exactly
/// those cells from the run and evaluation tables and clears them, under the write lock, so a cell is never read
/// while a write that changed it is not reflected: either the write's dirty row is visible and the cell is
/// recomputed first, or the write is not visible yet. The triggers are part of the schema, so writers outside
/// kbench (the sqlite3 shell, scripts) fire them too; the one gap is a row that INSERT OR REPLACE deletes on a
/// connection without <c>PRAGMA recursive_triggers = ON</c> (SQLite then skips DELETE triggers), which kbench's own
/// connections set (<see cref="StoreFactory"/>).
/// </para>
/// <para>
/// Cell data (<see cref="LeaderboardCell.Data"/>), little-endian, runs in run order (batch, run index, id):
/// byte version (2); int32 n (runs); n bytes outcome (<see cref="RunOutcome"/>, agentError for a failed run,
/// else the done crash verdict, else pending); n doubles file IoU; n doubles function IoU; n doubles definition IoU
/// (IoUs as <see cref="RunScore"/> defines them: 0 unless the localization evaluation succeeded, NaN when it did
/// not measure the metric); int32 J; then J judge configurations in id order, each int32 judge id,
/// int32 finished (done) evaluations among the runs, and ⌈n/8⌉ bytes with bit i set when run i's evaluation is
/// done with outcome equivalent. Dataset membership is not part of a cell (the query filters bugs), nor are
/// names (read from their tables at query time).
/// </para>
/// </remarks>
internal static class LeaderboardCells
{
    /// <summary>First byte of every cell.</summary>
    internal const byte FormatVersion = 2;

    /// <summary>How long a query waits for the write lock to refresh cells before computing from the run tables instead.</summary>
    internal const int RefreshLockWaitSeconds = 2;

    /// <summary>
    /// Runs <paramref name="read"/> over up-to-date cells in one transaction: a read transaction when no cell is
    /// dirty; otherwise a write transaction that first recomputes the dirty cells.
    /// </summary>
    /// <returns>What <paramref name="read"/> returned, or null when the write lock could not be taken within
    /// <see cref="RefreshLockWaitSeconds"/> or the refresh failed in SQLite (e.g. a read-only file); the caller
    /// then computes from the run tables.</returns>
    /// <exception cref="InvalidOperationException">The context already has a transaction.</exception>
    internal static T? ReadFresh<T>(KBenchDbContext db, Func<SqliteConnection, T> read, out int refreshed)
        where T : class
    {
        refreshed = 0;
        if (db.Database.CurrentTransaction is not null)
        {
            throw new InvalidOperationException("the leaderboard manages its own transaction");
        }
        db.Database.OpenConnection();
        var conn = (SqliteConnection)db.Database.GetDbConnection();
        Exec(conn, "BEGIN");
        try
        {
            if (!AnyDirty(conn))
            {
                var clean = read(conn);
                Exec(conn, "COMMIT");
                return clean;
            }
            Exec(conn, "COMMIT");
        }
        catch
        {
            Rollback(conn);
            throw;
        }
        if (!TryBeginImmediate(conn))
        {
            return null;
        }
        try
        {
            refreshed = Refresh(db, conn);
            var fresh = read(conn);
            Exec(conn, "COMMIT");
            return fresh;
        }
        catch (SqliteException)
        {
            Rollback(conn);
            return null;
        }
        catch
        {
            Rollback(conn);
            throw;
        }
    }

    /// <summary>Runs <paramref name="read"/> in one read transaction (a consistent snapshot).</summary>
    internal static T InReadTransaction<T>(KBenchDbContext db, Func<T> read)
    {
        if (db.Database.CurrentTransaction is not null)
        {
            return read();
        }
        db.Database.OpenConnection();
        var conn = (SqliteConnection)db.Database.GetDbConnection();
        Exec(conn, "BEGIN");
        try
        {
            var result = read();
            Exec(conn, "COMMIT");
            return result;
        }
        catch
        {
            Rollback(conn);
            throw;
        }
    }

    private static bool AnyDirty(SqliteConnection conn)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT EXISTS (SELECT 1 FROM \"LeaderboardDirtyCells\")";
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
    }

    private static void Exec(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static void Rollback(SqliteConnection conn)
    {
        if (conn.Handle is { } h && SQLitePCL.raw.sqlite3_get_autocommit(h) == 0)
        {
            try
            {
                Exec(conn, "ROLLBACK");
            }
            catch (SqliteException)
            {
                // Nothing more to undo.
            }
        }
    }

    private static bool TryBeginImmediate(SqliteConnection conn)
    {
        long previous;
        using (var get = conn.CreateCommand())
        {
            get.CommandText = "PRAGMA busy_timeout";
            previous = Convert.ToInt64(get.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        Exec(conn, $"PRAGMA busy_timeout = {RefreshLockWaitSeconds * 1000}");
        try
        {
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "BEGIN IMMEDIATE";
            cmd.CommandTimeout = RefreshLockWaitSeconds;
            cmd.ExecuteNonQuery();
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
        finally
        {
            Exec(conn, $"PRAGMA busy_timeout = {previous}");
        }
    }

    /// <summary>One run while a cell is built.</summary>
    private struct CellRun
    {
        public int Id;
        public int Batch;
        public int RunIndex;
        public RunOutcome Outcome;
        public double FileIou;
        public double FunctionIou;
        public double DefinitionIou;
    }

    /// <summary>
    /// Recomputes every dirty cell from the run and evaluation tables and clears the dirty rows. Must run inside
    /// a write transaction. With many dirty cells (e.g. right after the migration) the tables are scanned once;
    /// otherwise only the dirty cells' runs and their evaluations are read through indexes.
    /// </summary>
    /// <param name="db">Store (for table and column names).</param>
    /// <param name="conn">Its open connection, inside a write transaction.</param>
    /// <param name="scan">Force sequential scans (true) or index lookups (false); null = by the share of dirty cells. Tests use both.</param>
    /// <returns>Number of cells recomputed (including cells deleted because their runs are gone).</returns>
    internal static int Refresh(KBenchDbContext db, SqliteConnection conn, bool? scan = null)
    {
        var dirty = new HashSet<(int Config, string Bug)>();
        using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT DISTINCT \"AgentConfigurationId\", \"BugId\" FROM \"LeaderboardDirtyCells\"";
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                dirty.Add((reader.GetInt32(0), reader.GetString(1)));
            }
        }
        if (dirty.Count == 0)
        {
            return 0;
        }
        long cells = 0;
        if (scan is null)
        {
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM \"LeaderboardCells\"";
            cells = Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        // Index probes cost several times a sequential row; scan when a large share of the cells is dirty.
        var useScan = scan ?? dirty.Count * 8L >= cells;

        var run = Leaderboard.Table<AgentRun>(db);
        var crash = Leaderboard.Table<CrashResolutionEvaluation>(db);
        var judge = Leaderboard.Table<JudgeEvaluation>(db);
        var loc = Leaderboard.Table<LocalizationEvaluation>(db);
        var rId = run.Col(nameof(AgentRun.Id));
        var rConfig = run.Col(nameof(AgentRun.AgentConfigurationId));
        var rBug = run.Col(nameof(AgentRun.BugId));
        var dirtyRuns = $"""
            FROM (SELECT DISTINCT "AgentConfigurationId" AS c, "BugId" AS b FROM "LeaderboardDirtyCells") d
            CROSS JOIN "{run.Name}" r ON r.{rConfig} = d.c AND r.{rBug} = d.b
            """;
        string RunFilter(string column) => useScan ? "" : $"AND {column} IN (SELECT r.{rId} {dirtyRuns})";

        // 1. Runs of the dirty cells.
        var runs = new List<CellRun>();
        var slot = new Dictionary<int, int>(); // run id → index in runs
        var byCell = new Dictionary<(int Config, string Bug), List<int>>();
        var runSql = $"SELECT r.{rId}, r.{rConfig}, r.{rBug}, r.{run.Col(nameof(AgentRun.Batch))}, r.{run.Col(nameof(AgentRun.RunIndex))}, r.{run.Col(nameof(AgentRun.Status))} = $failed "
            + (useScan ? $"FROM \"{run.Name}\" r" : dirtyRuns);
        using (var cmd = Leaderboard.Command(conn, runSql, null))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                var key = (reader.GetInt32(1), reader.GetString(2));
                if (useScan && !dirty.Contains(key))
                {
                    continue;
                }
                var id = reader.GetInt32(0);
                if (!byCell.TryGetValue(key, out var list))
                {
                    byCell[key] = list = [];
                }
                slot[id] = runs.Count;
                list.Add(runs.Count);
                runs.Add(new CellRun
                {
                    Id = id,
                    Batch = reader.GetInt32(3),
                    RunIndex = reader.GetInt32(4),
                    Outcome = reader.GetInt32(5) == 1 ? RunOutcome.AgentError : RunOutcome.Pending,
                    DefinitionIou = 0,
                });
            }
        }
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runs);

        // 2. Crash verdicts (same mapping as Leaderboard.LoadRuns); a failed run stays agentError.
        var cid = crash.Col(nameof(CrashResolutionEvaluation.AgentRunId));
        using (var cmd = Leaderboard.Command(conn, $"SELECT {cid}, {Leaderboard.OutcomeCase(crash)} FROM \"{crash.Name}\" WHERE {crash.Col(nameof(CrashResolutionEvaluation.Status))} = $done AND {crash.Col(nameof(CrashResolutionEvaluation.Verdict))} IS NOT NULL {RunFilter(cid)}", null))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                if (slot.TryGetValue(reader.GetInt32(0), out var i) && span[i].Outcome != RunOutcome.AgentError)
                {
                    span[i].Outcome = (RunOutcome)reader.GetInt32(1);
                }
            }
        }

        // 3. Successful localization evaluations.
        var lid = loc.Col(nameof(LocalizationEvaluation.AgentRunId));
        using (var cmd = Leaderboard.Command(conn, $"SELECT {Leaderboard.LocalizationColumns(loc)} FROM \"{loc.Name}\" WHERE {loc.Col(nameof(LocalizationEvaluation.Status))} = $success {RunFilter(lid)}", null))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                if (slot.TryGetValue(reader.GetInt32(0), out var i))
                {
                    (span[i].FileIou, span[i].FunctionIou, span[i].DefinitionIou) = Leaderboard.ReadLocalization(reader);
                }
            }
        }

        // 4. Judge evaluations of every judge: done, and done with outcome equivalent.
        var judgeRows = new List<(int Slot, int Judge, bool Done, bool Equivalent)>();
        var jid = judge.Col(nameof(JudgeEvaluation.AgentRunId));
        var jStatus = judge.Col(nameof(JudgeEvaluation.Status));
        using (var cmd = Leaderboard.Command(conn, $"SELECT {jid}, {judge.Col(nameof(JudgeEvaluation.JudgeConfigurationId))}, {jStatus} = $done, CASE WHEN {jStatus} = $done AND {judge.Col(nameof(JudgeEvaluation.Outcome))} = $equivalent THEN 1 ELSE 0 END FROM \"{judge.Name}\" WHERE 1 = 1 {RunFilter(jid)}", null))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                if (slot.TryGetValue(reader.GetInt32(0), out var i))
                {
                    judgeRows.Add((i, reader.GetInt32(1), reader.GetInt32(2) == 1, reader.GetInt32(3) == 1));
                }
            }
        }
        var judgesBySlot = judgeRows.ToLookup(j => j.Slot);

        // 5. Write: replace the cells with runs, delete the others, clear the dirty rows.
        using var upsert = conn.CreateCommand();
        upsert.CommandText = "INSERT OR REPLACE INTO \"LeaderboardCells\" (\"AgentConfigurationId\", \"BugId\", \"Runs\", \"Data\") VALUES ($c, $b, $n, $d)";
        var pc = upsert.Parameters.Add("$c", SqliteType.Integer);
        var pb = upsert.Parameters.Add("$b", SqliteType.Text);
        var pn = upsert.Parameters.Add("$n", SqliteType.Integer);
        var pd = upsert.Parameters.Add("$d", SqliteType.Blob);
        using var delete = conn.CreateCommand();
        delete.CommandText = "DELETE FROM \"LeaderboardCells\" WHERE \"AgentConfigurationId\" = $c AND \"BugId\" = $b";
        var dc = delete.Parameters.Add("$c", SqliteType.Integer);
        var db2 = delete.Parameters.Add("$b", SqliteType.Text);
        var ordered = new List<CellRun>();
        foreach (var key in dirty)
        {
            if (!byCell.TryGetValue(key, out var members))
            {
                dc.Value = key.Config;
                db2.Value = key.Bug;
                delete.ExecuteNonQuery();
                continue;
            }
            ordered.Clear();
            foreach (var i in members)
            {
                ordered.Add(runs[i]);
            }
            ordered.Sort(static (a, b) =>
            {
                var c = a.Batch.CompareTo(b.Batch);
                if (c != 0)
                {
                    return c;
                }
                c = a.RunIndex.CompareTo(b.RunIndex);
                return c != 0 ? c : a.Id.CompareTo(b.Id);
            });
            pc.Value = key.Config;
            pb.Value = key.Bug;
            pn.Value = ordered.Count;
            pd.Value = Encode(ordered, members.SelectMany(i => judgesBySlot[i]).Select(j => (runs[j.Slot].Id, j.Judge, j.Done, j.Equivalent)));
            upsert.ExecuteNonQuery();
        }
        Exec(conn, "DELETE FROM \"LeaderboardDirtyCells\"");
        return dirty.Count;
    }

    private static byte[] Encode(List<CellRun> ordered, IEnumerable<(int RunId, int Judge, bool Done, bool Equivalent)> judgeRows)
    {
        var n = ordered.Count;
        var maskBytes = (n + 7) / 8;
        var position = new Dictionary<int, int>(n);
        for (var i = 0; i < n; i++)
        {
            position[ordered[i].Id] = i;
        }
        var judges = judgeRows.GroupBy(j => j.Judge).OrderBy(g => g.Key).ToList();
        var data = new byte[5 + (25 * n) + 4 + (judges.Count * (8 + maskBytes))];
        data[0] = FormatVersion;
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(1), n);
        var o = 5;
        for (var i = 0; i < n; i++)
        {
            data[o + i] = (byte)ordered[i].Outcome;
        }
        o += n;
        for (var i = 0; i < n; i++, o += 8)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(o), ordered[i].FileIou);
        }
        for (var i = 0; i < n; i++, o += 8)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(o), ordered[i].FunctionIou);
        }
        for (var i = 0; i < n; i++, o += 8)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(o), ordered[i].DefinitionIou);
        }
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(o), judges.Count);
        o += 4;
        foreach (var g in judges)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(o), g.Key);
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(o + 4), g.Count(j => j.Done));
            var mask = data.AsSpan(o + 8, maskBytes);
            foreach (var j in g.Where(j => j.Equivalent))
            {
                var p = position[j.RunId];
                mask[p >> 3] |= (byte)(1 << (p & 7));
            }
            o += 8 + maskBytes;
        }
        return data;
    }

    /// <summary>One configuration's per-bug values after <see cref="Scan"/>; arrays are pooled (see <see cref="ScanResult.Dispose"/>).</summary>
    internal sealed class ConfigValues
    {
        /// <summary>Row-major [bug × <see cref="Leaderboard.Columns"/>] (rented: may be longer than needed).</summary>
        public double[] Values { get; set; } = [];

        /// <summary>Runs per bug (rented).</summary>
        public int[] Runs { get; set; } = [];

        /// <summary>Runs per <see cref="RunOutcome"/>.</summary>
        public int[] Counts { get; } = new int[Enum.GetValues<RunOutcome>().Length];

        /// <summary>All runs on the bug set.</summary>
        public int TotalRuns { get; set; }

        /// <summary>When no judge was named: per judge id its three EPR values (mean, pass@k, mean@k) per bug, [bug × 3] (rented); only judges with an equivalent resolved run.</summary>
        public Dictionary<int, double[]>? EprByJudge { get; set; }

        /// <summary>Finished judge evaluations of this configuration's runs on the bug set, per judge configuration id.</summary>
        public Dictionary<int, long> JudgeDone { get; } = [];

        /// <summary>Bugs the arrays hold.</summary>
        public int Capacity { get; set; }
    }

    /// <summary>The bug set and every configuration's values, read in one pass over the cells.</summary>
    internal sealed class ScanResult : IDisposable
    {
        /// <summary>The bug set, ordered by id (ordinal).</summary>
        public string[] Bugs { get; set; } = [];

        /// <summary>Per configuration (same order as the configurations given to <see cref="Scan"/>); null = no cell on the bug set.</summary>
        public ConfigValues?[] Configs { get; set; } = [];

        /// <summary>Finished judge evaluations per judge configuration id, over every cell (the whole store).</summary>
        public Dictionary<int, long> JudgeDone { get; } = [];

        /// <summary>Returns the pooled arrays.</summary>
        public void Dispose()
        {
            foreach (var c in Configs)
            {
                if (c is null)
                {
                    continue;
                }
                ArrayPool<double>.Shared.Return(c.Values);
                ArrayPool<int>.Shared.Return(c.Runs);
                foreach (var e in c.EprByJudge?.Values ?? Enumerable.Empty<double[]>())
                {
                    ArrayPool<double>.Shared.Return(e);
                }
                c.Values = [];
                c.Runs = [];
                c.EprByJudge = null;
            }
        }

        /// <summary>Puts judge <paramref name="judgeId"/>'s EPR values into the EPR columns (chosen after the scan when no judge was named).</summary>
        public void UseJudge(int? judgeId)
        {
            foreach (var c in Configs)
            {
                if (c?.EprByJudge is null || judgeId is not { } j || !c.EprByJudge.TryGetValue(j, out var epr))
                {
                    continue;
                }
                for (var b = 0; b < Bugs.Length; b++)
                {
                    c.Values[(b * Leaderboard.Columns) + 1] = epr[b * 3];
                    c.Values[(b * Leaderboard.Columns) + 5] = epr[(b * 3) + 1];
                    c.Values[(b * Leaderboard.Columns) + 9] = epr[(b * 3) + 2];
                }
            }
        }
    }

    /// <summary>
    /// Reads every cell in one sequential scan, stepping SQLite directly, and turns each cell on the bug set into
    /// its bug's <see cref="Leaderboard.Columns"/> values (exactly as <see cref="Leaderboard.PerBugValues"/> computes
    /// them from the runs) without keeping the cell data.
    /// </summary>
    /// <param name="conn">Open connection (inside the caller's read or write transaction).</param>
    /// <param name="configs">Configurations; cells of other configuration ids are ignored.</param>
    /// <param name="members">The bug set, distinct and ordered (ordinal), or null for "every bug with a cell".</param>
    /// <param name="k">k ≥ 1.</param>
    /// <param name="judgeId">Judge defining EPR when named; null = EPR values are kept per judge for <see cref="ScanResult.UseJudge"/>.</param>
    /// <exception cref="InvalidOperationException">A cell has an unknown format, or SQLite failed.</exception>
    internal static ScanResult Scan(SqliteConnection conn, IReadOnlyList<ConfigInfo> configs, IReadOnlyList<string>? members, int k, int? judgeId)
    {
        var handle = conn.Handle ?? throw new InvalidOperationException("the connection is not open");
        var result = new ScanResult { Configs = new ConfigValues?[configs.Count] };
        var configSlot = new Dictionary<int, int>(configs.Count);
        for (var i = 0; i < configs.Count; i++)
        {
            configSlot[configs[i].Id] = i;
        }
        var bugSlot = new Dictionary<string, int>(StringComparer.Ordinal);
        var bugLookup = bugSlot.GetAlternateLookup<ReadOnlySpan<char>>();
        var bugs = new List<string>();
        if (members is not null)
        {
            foreach (var m in members)
            {
                bugSlot[m] = bugs.Count;
                bugs.Add(m);
            }
        }
        var initialCapacity = Math.Max(members?.Count ?? 0, 1024);
        var scratch = new double[64];
        Span<char> chars = stackalloc char[256];
        var rc = SQLitePCL.raw.sqlite3_prepare_v2(handle, "SELECT \"AgentConfigurationId\", \"BugId\", \"Data\" FROM \"LeaderboardCells\"", out var stmt);
        if (rc != SQLitePCL.raw.SQLITE_OK)
        {
            throw new InvalidOperationException($"reading leaderboard cells: {SQLitePCL.raw.sqlite3_errmsg(handle).utf8_to_string()}");
        }
        try
        {
            using (stmt)
            {
                while ((rc = SQLitePCL.raw.sqlite3_step(stmt)) == SQLitePCL.raw.SQLITE_ROW)
                {
                    var data = SQLitePCL.raw.sqlite3_column_blob(stmt, 2);
                    if (data.Length < 9 || data[0] != FormatVersion)
                    {
                        throw new InvalidOperationException($"leaderboard cell of configuration {SQLitePCL.raw.sqlite3_column_int(stmt, 0)} has an unknown format");
                    }
                    AddJudgeCounts(data, result.JudgeDone);
                    if (!configSlot.TryGetValue(SQLitePCL.raw.sqlite3_column_int(stmt, 0), out var ci))
                    {
                        continue;
                    }
                    var utf8 = SQLitePCL.raw.sqlite3_column_blob(stmt, 1);
                    var len = Encoding.UTF8.GetMaxCharCount(utf8.Length) <= chars.Length ? Encoding.UTF8.GetChars(utf8, chars) : -1;
                    int bi;
                    if (len >= 0 ? !bugLookup.TryGetValue(chars[..len], out bi) : !bugSlot.TryGetValue(Encoding.UTF8.GetString(utf8), out bi))
                    {
                        if (members is not null)
                        {
                            continue; // not in the dataset
                        }
                        var id = len >= 0 ? new string(chars[..len]) : Encoding.UTF8.GetString(utf8);
                        bi = bugs.Count;
                        bugSlot[id] = bi;
                        bugs.Add(id);
                    }
                    var cv = result.Configs[ci] ??= NewConfig(initialCapacity);
                    if (bi >= cv.Capacity)
                    {
                        Grow(cv, Math.Max(bi + 1, cv.Capacity * 2));
                    }
                    var n = Values(data, k, judgeId, cv.Values.AsSpan(bi * Leaderboard.Columns, Leaderboard.Columns), cv.Counts, ref scratch, judgeId is null ? (cv, bi) : null);
                    cv.Runs[bi] = n;
                    cv.TotalRuns += n;
                    AddJudgeCounts(data, cv.JudgeDone);
                }
                if (rc != SQLitePCL.raw.SQLITE_DONE)
                {
                    throw new InvalidOperationException($"reading leaderboard cells: {SQLitePCL.raw.sqlite3_errmsg(handle).utf8_to_string()}");
                }
            }
            // Bugs were numbered as met; put them in id order.
            var ordered = bugs.ToArray();
            var order = Enumerable.Range(0, ordered.Length).ToArray();
            Array.Sort(ordered, order, StringComparer.Ordinal);
            result.Bugs = ordered;
            var identity = true;
            for (var i = 0; i < order.Length && identity; i++)
            {
                identity = order[i] == i;
            }
            foreach (var cv in result.Configs)
            {
                if (cv is null)
                {
                    continue;
                }
                if (cv.Capacity < ordered.Length)
                {
                    Grow(cv, ordered.Length);
                }
                if (!identity)
                {
                    Permute(cv, order);
                }
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static ConfigValues NewConfig(int capacity)
    {
        var cv = new ConfigValues
        {
            Values = ArrayPool<double>.Shared.Rent(capacity * Leaderboard.Columns),
            Runs = ArrayPool<int>.Shared.Rent(capacity),
            Capacity = capacity,
        };
        Array.Clear(cv.Values, 0, capacity * Leaderboard.Columns);
        Array.Clear(cv.Runs, 0, capacity);
        return cv;
    }

    private static double[] Regrow(double[] old, int oldLength, int newLength)
    {
        var fresh = ArrayPool<double>.Shared.Rent(newLength);
        Array.Copy(old, fresh, oldLength);
        Array.Clear(fresh, oldLength, newLength - oldLength);
        ArrayPool<double>.Shared.Return(old);
        return fresh;
    }

    private static void Grow(ConfigValues cv, int capacity)
    {
        cv.Values = Regrow(cv.Values, cv.Capacity * Leaderboard.Columns, capacity * Leaderboard.Columns);
        var runs = ArrayPool<int>.Shared.Rent(capacity);
        Array.Copy(cv.Runs, runs, cv.Capacity);
        Array.Clear(runs, cv.Capacity, capacity - cv.Capacity);
        ArrayPool<int>.Shared.Return(cv.Runs);
        cv.Runs = runs;
        if (cv.EprByJudge is { } epr)
        {
            foreach (var j in epr.Keys.ToList())
            {
                epr[j] = Regrow(epr[j], cv.Capacity * 3, capacity * 3);
            }
        }
        cv.Capacity = capacity;
    }

    /// <summary>Row i of the result is row <paramref name="order"/>[i] of the input.</summary>
    private static void Permute(ConfigValues cv, int[] order)
    {
        static double[] Rows(double[] src, int[] order, int width)
        {
            var dst = ArrayPool<double>.Shared.Rent(src.Length);
            for (var i = 0; i < order.Length; i++)
            {
                Array.Copy(src, order[i] * width, dst, i * width, width);
            }
            ArrayPool<double>.Shared.Return(src);
            return dst;
        }
        cv.Values = Rows(cv.Values, order, Leaderboard.Columns);
        var runs = ArrayPool<int>.Shared.Rent(cv.Runs.Length);
        for (var i = 0; i < order.Length; i++)
        {
            runs[i] = cv.Runs[order[i]];
        }
        ArrayPool<int>.Shared.Return(cv.Runs);
        cv.Runs = runs;
        if (cv.EprByJudge is { } epr)
        {
            foreach (var j in epr.Keys.ToList())
            {
                epr[j] = Rows(epr[j], order, 3);
            }
        }
        cv.Capacity = order.Length;
    }

    /// <summary>Number of runs of a cell.</summary>
    internal static int Runs(ReadOnlySpan<byte> cell) => BinaryPrimitives.ReadInt32LittleEndian(cell[1..]);

    /// <summary>Adds each judge configuration's finished evaluations in the cell to <paramref name="done"/>.</summary>
    internal static void AddJudgeCounts(ReadOnlySpan<byte> cell, Dictionary<int, long> done)
    {
        var n = Runs(cell);
        var maskBytes = (n + 7) / 8;
        var o = 5 + (25 * n);
        var judges = BinaryPrimitives.ReadInt32LittleEndian(cell[o..]);
        o += 4;
        for (var j = 0; j < judges; j++, o += 8 + maskBytes)
        {
            var id = BinaryPrimitives.ReadInt32LittleEndian(cell[o..]);
            var count = BinaryPrimitives.ReadInt32LittleEndian(cell[(o + 4)..]);
            if (count > 0)
            {
                done[id] = done.GetValueOrDefault(id) + count;
            }
        }
    }

    /// <summary>
    /// One bug's <see cref="Leaderboard.Columns"/> values for one configuration from its cell, exactly as
    /// <see cref="Leaderboard.PerBugValues"/> computes them from the runs (same additions in the same order).
    /// </summary>
    /// <param name="cell">The cell data.</param>
    /// <param name="k">k ≥ 1.</param>
    /// <param name="judgeId">Judge defining EPR; null = EPR columns 0 here (see <paramref name="perJudge"/>).</param>
    /// <param name="row">Receives the values (length ≥ <see cref="Leaderboard.Columns"/>).</param>
    /// <param name="counts">Runs per <see cref="RunOutcome"/>, added to.</param>
    /// <param name="scratch">Reused buffer (grown as needed).</param>
    /// <param name="perJudge">When set (no judge named): the EPR values of every judge with an equivalent resolved run go to that configuration's <see cref="ConfigValues.EprByJudge"/> at this bug.</param>
    /// <returns>The number of runs.</returns>
    internal static int Values(ReadOnlySpan<byte> cell, int k, int? judgeId, Span<double> row, Span<int> counts, ref double[] scratch, (ConfigValues Config, int Bug)? perJudge = null)
    {
        var n = Runs(cell);
        var outcomes = cell.Slice(5, n);
        var fileIou = cell.Slice(5 + n, 8 * n);
        var functionIou = cell.Slice(5 + (9 * n), 8 * n);
        var definitionIou = cell.Slice(5 + (17 * n), 8 * n);
        var maskBytes = (n + 7) / 8;
        var judgeSection = cell[(5 + (25 * n))..];
        var judges = BinaryPrimitives.ReadInt32LittleEndian(judgeSection);
        if (scratch.Length < 5 * n)
        {
            scratch = new double[Math.Max(5 * n, 2 * scratch.Length)];
        }
        var perRun = scratch.AsSpan(0, 5 * n); // metric m of run i at m × n + i (m: crr, epr, file, function, definition)
        for (var i = 0; i < n; i++)
        {
            var outcome = outcomes[i];
            counts[outcome]++;
            perRun[i] = outcome == (byte)RunOutcome.Resolved ? 1.0 : 0.0;
            perRun[(2 * n) + i] = BinaryPrimitives.ReadDoubleLittleEndian(fileIou[(8 * i)..]);
            perRun[(3 * n) + i] = BinaryPrimitives.ReadDoubleLittleEndian(functionIou[(8 * i)..]);
            perRun[(4 * n) + i] = BinaryPrimitives.ReadDoubleLittleEndian(definitionIou[(8 * i)..]);
        }
        // Same computation as PerBugValues (Leaderboard.BugStats), metric by metric in run order.
        foreach (var m in (ReadOnlySpan<int>)[0, 2, 3, 4])
        {
            Leaderboard.BugStats(perRun.Slice(m * n, n), k, out row[Leaderboard.MeanColumn[m]], out row[Leaderboard.PassColumn[m]], out row[Leaderboard.MeanAtKColumn[m]]);
        }
        row[1] = row[5] = row[9] = 0.0; // EPR below, when some run is resolved and equivalent
        // EPR per judge: run i counts when resolved and the judge found it equivalent.
        var o = 4;
        Span<double> v = stackalloc double[3];
        for (var j = 0; j < judges; j++, o += 8 + maskBytes)
        {
            var id = BinaryPrimitives.ReadInt32LittleEndian(judgeSection[o..]);
            if (judgeId is { } wanted ? id != wanted : perJudge is null)
            {
                continue;
            }
            var mask = judgeSection.Slice(o + 8, maskBytes);
            var epr = perRun.Slice(n, n);
            var c = 0;
            for (var i = 0; i < n; i++)
            {
                var e = outcomes[i] == (byte)RunOutcome.Resolved && (mask[i >> 3] & (1 << (i & 7))) != 0 ? 1.0 : 0.0;
                epr[i] = e;
                c += e > 0 ? 1 : 0;
            }
            if (c == 0)
            {
                continue; // all zero, as the row already holds
            }
            Leaderboard.BugStats(epr, k, out v[0], out v[1], out v[2]);
            if (perJudge is { } target)
            {
                var cv = target.Config;
                cv.EprByJudge ??= [];
                if (!cv.EprByJudge.TryGetValue(id, out var arr))
                {
                    arr = ArrayPool<double>.Shared.Rent(cv.Capacity * 3);
                    Array.Clear(arr, 0, cv.Capacity * 3);
                    cv.EprByJudge[id] = arr;
                }
                v.CopyTo(arr.AsSpan(target.Bug * 3, 3));
            }
            else
            {
                row[1] = v[0];
                row[5] = v[1];
                row[9] = v[2];
            }
        }
        return n;
    }
}
