using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Store;
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

    /// <summary>
    /// Stores the documents in ONE transaction: all or nothing. A bug already stored with the same content is left
    /// untouched (its first <c>addedTime</c> and mirror commits are kept), so importing twice changes nothing.
    /// When the caller already opened a transaction on <paramref name="db"/>, the work joins it and the caller commits.
    /// </summary>
    public static ImportSummary Upsert(KBenchDbContext db, IReadOnlyList<BugDocument> documents, CancellationToken cancellationToken = default)
    {
        var dupes = documents.GroupBy(d => d.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (dupes.Count > 0)
        {
            throw new BugImportException($"the input holds bug {dupes[0]} more than once");
        }
        int added = 0, updated = 0, unchanged = 0;
        using var tx = db.Database.CurrentTransaction is null ? db.Database.BeginTransaction() : null;
        var existing = Load(db, [.. documents.Select(d => d.Id)]).ToDictionary(b => b.Id);
        foreach (var incoming in documents)
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
                SetDeveloperPatch(db, bug, merged.DeveloperPatch);
                updated++;
            }
            else
            {
                var entity = incoming.ToEntity();
                db.Bugs.Add(entity);
                SetDeveloperPatch(db, entity, incoming.DeveloperPatch);
                added++;
            }
            db.SaveChanges();
        }
        tx?.Commit();
        return new ImportSummary(added, updated, unchanged);
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

    /// <summary>Parses a JSON Lines export. Blank lines are skipped.</summary>
    /// <exception cref="BugImportException">A line is not a valid bug document; the message names its line number.</exception>
    public static List<BugDocument> ParseJsonLines(string path)
    {
        var docs = new List<BugDocument>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            BugDocument? doc;
            try
            {
                doc = JsonSerializer.Deserialize<BugDocument>(line, BugDocument.JsonOptions);
            }
            catch (JsonException ex)
            {
                throw new BugImportException($"{path}:{lineNo}: not a bug document: {ex.Message}", ex);
            }
            catch (NotSupportedException ex)
            {
                throw new BugImportException($"{path}:{lineNo}: not a bug document: {ex.Message}", ex);
            }
            if (doc is null || string.IsNullOrWhiteSpace(doc.Id) || string.IsNullOrWhiteSpace(doc.Title))
            {
                throw new BugImportException($"{path}:{lineNo}: not a bug document (needs \"id\" and \"title\")");
            }
            if (doc.Schema != BugDocument.SchemaName)
            {
                throw new BugImportException($"{path}:{lineNo}: schema \"{doc.Schema}\" is not {BugDocument.SchemaName}");
            }
            docs.Add(doc);
        }
        return docs;
    }

    private static void SetDeveloperPatch(KBenchDbContext db, Bug bug, DeveloperPatchDocument? doc)
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
        dp.Patch = doc.Patch is null ? null : GetOrAddPatch(db, doc.Patch);
        if (bug.DeveloperPatch is null)
        {
            bug.DeveloperPatch = dp;
        }
    }
}
