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

    /// <summary>Documents stored per SaveChanges (the change tracker is cleared between batches, so an import is linear in its size).</summary>
    public const int BatchSize = 500;

    /// <summary>
    /// Stores the documents in ONE transaction: all or nothing. A bug already stored with the same content is left
    /// untouched (its first <c>addedTime</c> and mirror commits are kept), so importing twice changes nothing.
    /// When the caller already opened a transaction on <paramref name="db"/>, the work joins it and the caller commits.
    /// Work is flushed in batches of <see cref="BatchSize"/> bugs with a fresh change tracker each (when the call owns
    /// the transaction), so time and memory grow linearly with the input; a kill at any point rolls the whole import back.
    /// </summary>
    /// <exception cref="BugImportException">A document is invalid (<see cref="BugDocument.Validate"/>) or a bug appears twice; nothing is stored.</exception>
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
        int added = 0, updated = 0, unchanged = 0;
        var owned = db.Database.CurrentTransaction is null;
        using var tx = owned ? db.Database.BeginTransaction() : null;
        for (var offset = 0; offset < documents.Count; offset += BatchSize)
        {
            var batch = documents.Skip(offset).Take(BatchSize).ToList();
            var existing = Load(db, [.. batch.Select(d => d.Id)]).ToDictionary(b => b.Id);
            var patches = new PatchCache(db, batch.Select(d => d.DeveloperPatch?.Patch));
            var changed = false;
            foreach (var incoming in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (existing.TryGetValue(incoming.Id, out var bug))
                {
                    var current = BugDocument.From(bug);
                    // Keep what only this workspace knows when the input does not carry it.
                    var merged = incoming with
                    {
                        AddedTime = incoming.Source == BugSource.Bundle ? current.AddedTime : incoming.AddedTime,
                        ParentOfFix = incoming.ParentOfFix ?? current.ParentOfFix,
                        MirrorFixCommit = incoming.MirrorFixCommit ?? current.MirrorFixCommit,
                        DeveloperPatch = incoming.DeveloperPatch is { } dp && current.DeveloperPatch is { } cp && incoming.Source == BugSource.Bundle
                            ? dp with { AddedTime = cp.AddedTime, ParentCommit = dp.ParentCommit ?? cp.ParentCommit }
                            : incoming.DeveloperPatch,
                    };
                    if (merged.ToJsonLine() == current.ToJsonLine())
                    {
                        unchanged++;
                        continue;
                    }
                    db.BugCrashes.RemoveRange(bug.Crashes);
                    db.FixCommits.RemoveRange(bug.FixCommits);
                    db.Reproducers.RemoveRange(bug.Reproducers);
                    db.SaveChanges();
                    merged.Apply(bug);
                    SetDeveloperPatch(db, bug, merged.DeveloperPatch, patches);
                    updated++;
                }
                else
                {
                    var entity = incoming.ToEntity();
                    db.Bugs.Add(entity);
                    SetDeveloperPatch(db, entity, incoming.DeveloperPatch, patches);
                    added++;
                }
                changed = true;
            }
            if (changed)
            {
                db.SaveChanges();
            }
            if (owned && offset + BatchSize < documents.Count)
            {
                db.ChangeTracker.Clear();
            }
        }
        tx?.Commit();
        return new ImportSummary(added, updated, unchanged);
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
