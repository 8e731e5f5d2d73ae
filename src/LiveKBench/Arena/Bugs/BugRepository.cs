using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Arena.Bugs;

/// <summary>Counts of an import.</summary>
/// <param name="Added">Bugs that were new.</param>
/// <param name="Updated">Bugs whose stored document changed.</param>
/// <param name="Unchanged">Bugs already stored exactly so.</param>
public sealed record ImportSummary(int Added, int Updated, int Unchanged);

/// <summary>Reads and writes bugs in the store as <see cref="BugDocument"/>s.</summary>
public static class BugRepository
{
    /// <summary>Loads bugs with all children; <paramref name="ids"/> null = every bug. Ordered by id.</summary>
    public static List<Bug> Load(KBenchDbContext db, IReadOnlyCollection<string>? ids = null)
    {
        IQueryable<Bug> q = db.Bugs
            .Include(b => b.Crashes)
            .Include(b => b.FixCommits)
            .Include(b => b.Reproducers)
            .Include(b => b.DeveloperPatch).ThenInclude(d => d!.Patch)
            .AsSplitQuery();
        if (ids is not null)
        {
            q = q.Where(b => ids.Contains(b.Id));
        }
        return [.. q.OrderBy(b => b.Id)];
    }

    /// <summary>Finds a bug by id, extid, syzbot id or bundle key; null when none.</summary>
    public static Bug? Find(KBenchDbContext db, string key)
    {
        var id = db.Bugs.Where(b => b.Id == key || b.Extid == key || b.SyzbotId == key || b.BundleKey == key)
            .OrderBy(b => b.Id).Select(b => b.Id).FirstOrDefault();
        return id is null ? null : Load(db, [id]).SingleOrDefault();
    }

    /// <summary>Documents stored per write transaction (the change tracker is cleared between batches, so an import is linear in its size).</summary>
    public const int BatchSize = 500;

    /// <summary>
    /// Stores the documents, all or nothing. A bug already stored with the same content is left untouched (its first
    /// <c>addedTime</c> and mirror commits are kept), so importing twice changes nothing.
    /// <para>
    /// Up to <see cref="BatchSize"/> documents, or when the caller already opened a transaction on <paramref name="db"/>
    /// (the work then joins it and the caller commits), everything happens in one transaction. A larger input is staged:
    /// new bugs are written in batches of <see cref="BatchSize"/>, each its own short write transaction, marked with an
    /// import id that hides them from every query (<see cref="Bug.ImportId"/>); then one final transaction makes them
    /// visible (a single UPDATE) and applies the changes to bugs already stored. So no write transaction holds the
    /// database for the whole import, other writers (e.g. <c>dataset create</c>) take their turn between batches, and
    /// readers see either none or all of the import. On an error or a cancellation the staged rows are deleted; after
    /// a kill -9 they stay hidden and the next staged import deletes them (its owner's lock file is free).
    /// </para>
    /// </summary>
    /// <exception cref="BugImportException">
    /// A document is invalid (<see cref="BugDocument.Validate"/>), a bug appears twice, or another import is staging
    /// the same new bug at the same time; nothing is stored.
    /// </exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is stored.</exception>
    public static ImportSummary Upsert(KBenchDbContext db, IReadOnlyList<BugDocument> documents, CancellationToken cancellationToken = default)
    {
        var dupes = documents.GroupBy(d => d.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (dupes.Count > 0)
        {
            throw new BugImportException($"the input holds bug {dupes[0]} more than once");
        }
        for (var i = 0; i < documents.Count; i++)
        {
            if (documents[i].Validate() is { } why)
            {
                throw new BugImportException($"bug {documents[i].Id ?? $"#{i + 1}"}: {why}");
            }
        }
        if (db.Database.CurrentTransaction is not null || documents.Count <= BatchSize)
        {
            var owned = db.Database.CurrentTransaction is null;
            using var tx = owned ? db.Database.BeginTransaction() : null;
            var counts = new Counts();
            var toUpdate = new List<BugDocument>();
            foreach (var batch in documents.Chunk(BatchSize))
            {
                AddNewAndSortOut(db, batch, importId: null, counts, toUpdate, cancellationToken);
            }
            ApplyUpdates(db, toUpdate, counts, clearBetweenBatches: owned, cancellationToken);
            tx?.Commit();
            return counts.Summary;
        }
        return UpsertStaged(db, documents, cancellationToken);
    }

    private sealed class Counts
    {
        public int Added;
        public int Updated;
        public int Unchanged;

        public ImportSummary Summary => new(Added, Updated, Unchanged);
    }

    private static ImportSummary UpsertStaged(KBenchDbContext db, IReadOnlyList<BugDocument> documents, CancellationToken cancellationToken)
    {
        var dbPath = db.Database.GetDbConnection().DataSource;
        var importId = Guid.NewGuid().ToString("N");
        using var owner = ImportLock.Take(dbPath, importId);
        DeleteAbandonedImports(db, dbPath);
        var counts = new Counts();
        var toUpdate = new List<BugDocument>();
        var committed = false;
        try
        {
            foreach (var batch in documents.Chunk(BatchSize))
            {
                using (var tx = db.Database.BeginTransaction())
                {
                    AddNewAndSortOut(db, batch, importId, counts, toUpdate, cancellationToken);
                    tx.Commit();
                }
                db.ChangeTracker.Clear();
            }
            cancellationToken.ThrowIfCancellationRequested();
            // The final swap: the staged bugs become visible and the changed ones are rewritten, in one transaction.
            using (var tx = db.Database.BeginTransaction())
            {
                db.Database.ExecuteSqlInterpolated($"UPDATE Bugs SET ImportId = NULL WHERE ImportId = {importId}");
                var recount = new Counts();
                ApplyUpdates(db, toUpdate, recount, clearBetweenBatches: false, CancellationToken.None);
                counts.Added += recount.Added;
                counts.Updated = recount.Updated;
                counts.Unchanged += recount.Unchanged;
                tx.Commit();
                committed = true;
            }
            db.ChangeTracker.Clear();
            return counts.Summary;
        }
        finally
        {
            if (!committed)
            {
                db.ChangeTracker.Clear();
                DeleteStaged(db, importId);
            }
        }
    }

    /// <summary>
    /// One batch: adds the bugs not stored yet (hidden under <paramref name="importId"/> when staged), counts the ones
    /// stored exactly so, and collects the ones whose stored document would change in <paramref name="toUpdate"/>.
    /// </summary>
    private static void AddNewAndSortOut(KBenchDbContext db, BugDocument[] batch, string? importId, Counts counts, List<BugDocument> toUpdate, CancellationToken cancellationToken)
    {
        var existing = Load(db, [.. batch.Select(d => d.Id)]).ToDictionary(b => b.Id);
        var patches = new PatchCache(db, batch.Where(d => !existing.ContainsKey(d.Id)).Select(d => d.DeveloperPatch?.Patch));
        var added = false;
        foreach (var incoming in batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (existing.TryGetValue(incoming.Id, out var bug))
            {
                if (Merge(incoming, BugDocument.From(bug)) is null)
                {
                    counts.Unchanged++;
                }
                else
                {
                    toUpdate.Add(incoming);
                }
                continue;
            }
            var entity = incoming.ToEntity();
            entity.ImportId = importId;
            db.Bugs.Add(entity);
            SetDeveloperPatch(db, entity, incoming.DeveloperPatch, patches);
            counts.Added++;
            added = true;
        }
        if (added)
        {
            try
            {
                db.SaveChanges();
            }
            catch (DbUpdateException ex) when (importId is not null && ex.InnerException is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 19 })
            {
                // A primary-key clash with a bug that a concurrent import is staging (hidden from this one's queries).
                throw new BugImportException($"another import is storing some of these bugs at the same time ({ex.InnerException.Message}); run this import again when it has finished", ex);
            }
        }
    }

    /// <summary>The incoming document merged with what only this workspace knows; null when that equals <paramref name="current"/>.</summary>
    private static BugDocument? Merge(BugDocument incoming, BugDocument current)
    {
        var merged = incoming with
        {
            AddedTime = incoming.Source == BugSource.Bundle ? current.AddedTime : incoming.AddedTime,
            ParentOfFix = incoming.ParentOfFix ?? current.ParentOfFix,
            MirrorFixCommit = incoming.MirrorFixCommit ?? current.MirrorFixCommit,
            DeveloperPatch = incoming.DeveloperPatch is { } dp && current.DeveloperPatch is { } cp && incoming.Source == BugSource.Bundle
                ? dp with { AddedTime = cp.AddedTime, ParentCommit = dp.ParentCommit ?? cp.ParentCommit }
                : incoming.DeveloperPatch,
        };
        return merged.ToJsonLine() == current.ToJsonLine() ? null : merged;
    }

    /// <summary>Rewrites the stored bugs of <paramref name="documents"/> (merged again against their current state) in batches.</summary>
    private static void ApplyUpdates(KBenchDbContext db, List<BugDocument> documents, Counts counts, bool clearBetweenBatches, CancellationToken cancellationToken)
    {
        foreach (var batch in documents.Chunk(BatchSize))
        {
            var existing = Load(db, [.. batch.Select(d => d.Id)]).ToDictionary(b => b.Id);
            var patches = new PatchCache(db, batch.Select(d => d.DeveloperPatch?.Patch));
            foreach (var incoming in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!existing.TryGetValue(incoming.Id, out var bug))
                {
                    // Deleted since it was read: store it as new.
                    var entity = incoming.ToEntity();
                    db.Bugs.Add(entity);
                    SetDeveloperPatch(db, entity, incoming.DeveloperPatch, patches);
                    counts.Added++;
                    continue;
                }
                if (Merge(incoming, BugDocument.From(bug)) is not { } merged)
                {
                    counts.Unchanged++;
                    continue;
                }
                db.BugCrashes.RemoveRange(bug.Crashes);
                db.FixCommits.RemoveRange(bug.FixCommits);
                db.Reproducers.RemoveRange(bug.Reproducers);
                db.SaveChanges();
                merged.Apply(bug);
                SetDeveloperPatch(db, bug, merged.DeveloperPatch, patches);
                counts.Updated++;
            }
            db.SaveChanges();
            if (clearBetweenBatches)
            {
                db.ChangeTracker.Clear();
            }
        }
    }

    /// <summary>Deletes the hidden rows of a staged import (children go by cascade), in one short transaction.</summary>
    private static void DeleteStaged(KBenchDbContext db, string importId)
    {
        db.Database.ExecuteSqlInterpolated($"DELETE FROM Bugs WHERE ImportId = {importId}");
    }

    /// <summary>Deletes the staged rows of imports whose process is gone (killed before their final swap).</summary>
    private static void DeleteAbandonedImports(KBenchDbContext db, string dbPath)
    {
        var ids = db.Bugs.IgnoreQueryFilters().Where(b => b.ImportId != null).Select(b => b.ImportId!).Distinct().ToList();
        foreach (var id in ids)
        {
            if (ImportLock.IsAbandoned(dbPath, id))
            {
                DeleteStaged(db, id);
            }
        }
    }

    /// <summary>
    /// The lock file <c>&lt;database&gt;.import-&lt;id&gt;.lock</c> of a running staged import: held open exclusively by its
    /// process (released by the kernel when that process dies), so another import can tell a live import from a killed one.
    /// </summary>
    private sealed class ImportLock : IDisposable
    {
        private readonly FileStream _stream;
        private readonly string _path;

        private ImportLock(FileStream stream, string path)
        {
            _stream = stream;
            _path = path;
        }

        private static string PathOf(string dbPath, string importId) => Path.GetFullPath(dbPath) + $".import-{importId}.lock";

        public static ImportLock Take(string dbPath, string importId)
        {
            var path = PathOf(dbPath, importId);
            return new ImportLock(new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None), path);
        }

        public static bool IsAbandoned(string dbPath, string importId)
        {
            var path = PathOf(dbPath, importId);
            try
            {
                using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None))
                {
                }
                File.Delete(path);
                return true;
            }
            catch (FileNotFoundException)
            {
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            _stream.Dispose();
            try
            {
                File.Delete(_path);
            }
            catch (IOException)
            {
                // Left behind; the next import finds it free and deletes it.
            }
        }
    }

    /// <summary>Patch rows of one import batch by content hash: one query for the batch instead of one per bug.</summary>
    private sealed class PatchCache
    {
        private readonly KBenchDbContext _db;
        private readonly Dictionary<string, List<Patch>> _byHash = new(StringComparer.Ordinal);

        public PatchCache(KBenchDbContext db, IEnumerable<string?> contents)
        {
            _db = db;
            var hashes = contents.OfType<string>().Select(Sha256Hex).Distinct().ToList();
            foreach (var chunk in hashes.Chunk(400))
            {
                foreach (var p in db.Patches.Where(p => chunk.Contains(p.ContentHash)))
                {
                    Add(p);
                }
            }
        }

        public Patch GetOrAdd(string content)
        {
            var hash = Sha256Hex(content);
            if (_byHash.TryGetValue(hash, out var list) && list.FirstOrDefault(p => p.Content == content) is { } found)
            {
                return found;
            }
            var patch = new Patch { Content = content, ContentHash = hash, AnalysisStatus = AnalysisStatus.Pending };
            _db.Patches.Add(patch);
            Add(patch);
            return patch;
        }

        private void Add(Patch p)
        {
            if (!_byHash.TryGetValue(p.ContentHash, out var list))
            {
                _byHash[p.ContentHash] = list = [];
            }
            list.Add(p);
        }
    }

    /// <summary>Finds or adds the patch row holding exactly <paramref name="content"/>.</summary>
    public static Patch GetOrAddPatch(KBenchDbContext db, string content)
    {
        var hash = Sha256Hex(content);
        var found = db.Patches.Local.FirstOrDefault(p => p.ContentHash == hash && p.Content == content)
            ?? db.Patches.Where(p => p.ContentHash == hash).AsEnumerable().FirstOrDefault(p => p.Content == content);
        if (found is not null)
        {
            return found;
        }
        var patch = new Patch { Content = content, ContentHash = hash, AnalysisStatus = AnalysisStatus.Pending };
        db.Patches.Add(patch);
        return patch;
    }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Writes every bug as one JSON line (schema livekbench-bug/1) to <paramref name="writer"/>; returns the count.</summary>
    public static int ExportJsonLines(KBenchDbContext db, TextWriter writer, IReadOnlyCollection<string>? ids = null)
    {
        var n = 0;
        foreach (var bug in Load(db, ids))
        {
            writer.Write(BugDocument.From(bug).ToJsonLine());
            writer.Write('\n');
            n++;
        }
        return n;
    }

    /// <summary>
    /// Parses a JSON Lines export. Blank lines are skipped. The file must be a regular file; each line is read with a
    /// bound of <see cref="InputLimits.JsonLineBytes"/> and decoded as strict UTF-8, and each document is validated
    /// (<see cref="BugDocument.Validate"/>).
    /// </summary>
    /// <exception cref="BugImportException">A line is not a valid bug document; the message names the file and line number.</exception>
    public static List<BugDocument> ParseJsonLines(string path)
    {
        var docs = new List<BugDocument>();
        try
        {
            SafeFile.CheckRegular(path, followLinks: true);
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var lineNo = 0;
            foreach (var bytes in JsonLines.ReadLines(fs, InputLimits.JsonLineBytes, n => $"{path}:{n}"))
            {
                lineNo++;
                var line = SafeFile.DecodeUtf8(bytes, $"{path}:{lineNo}");
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }
                docs.Add(ParseLine(line, $"{path}:{lineNo}"));
            }
        }
        catch (UnsafeInputException ex)
        {
            throw new BugImportException(ex.Message, ex);
        }
        catch (IOException ex)
        {
            throw new BugImportException($"{path}: cannot read: {ex.Message}", ex);
        }
        return docs;
    }

    /// <summary>Parses and validates one JSON line; <paramref name="where"/> (file:line) prefixes every error.</summary>
    /// <exception cref="BugImportException">Not a valid bug document.</exception>
    public static BugDocument ParseLine(string line, string where)
    {
        BugDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize<BugDocument>(line, BugDocument.JsonOptions);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new BugImportException($"{where}: not a bug document: {ex.Message}", ex);
        }
        if (doc is null || string.IsNullOrWhiteSpace(doc.Id) || string.IsNullOrWhiteSpace(doc.Title))
        {
            throw new BugImportException($"{where}: not a bug document (needs \"id\" and \"title\")");
        }
        if (doc.Schema != BugDocument.SchemaName)
        {
            throw new BugImportException($"{where}: schema \"{doc.Schema}\" is not {BugDocument.SchemaName}");
        }
        if (doc.Validate() is { } why)
        {
            throw new BugImportException($"{where}: {why}");
        }
        return doc;
    }

    private static void SetDeveloperPatch(KBenchDbContext db, Bug bug, DeveloperPatchDocument? doc, PatchCache patches)
    {
        if (doc is null)
        {
            if (bug.DeveloperPatch is not null)
            {
                db.DeveloperPatches.Remove(bug.DeveloperPatch);
                bug.DeveloperPatch = null;
            }
            return;
        }
        var dp = bug.DeveloperPatch ?? new DeveloperPatch { BugId = bug.Id };
        dp.Status = doc.Status;
        dp.CommitHash = doc.CommitHash;
        dp.ParentCommit = doc.ParentCommit;
        dp.Message = doc.Message;
        dp.Author = doc.Author;
        dp.FixedTime = doc.FixedTime;
        dp.AddedTime = doc.AddedTime;
        dp.FailureReason = doc.FailureReason;
        dp.Patch = doc.Patch is null ? null : patches.GetOrAdd(doc.Patch);
        if (bug.DeveloperPatch is null)
        {
            bug.DeveloperPatch = dp;
        }
    }
}
