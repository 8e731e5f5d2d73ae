using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Datasets;

/// <summary>A dataset with its member bug ids (sorted), as shown by <c>kbench dataset show --json</c> and exported.</summary>
public sealed record DatasetDocument
{
    /// <summary>Unique name.</summary>
    public required string Name { get; init; }

    /// <summary>Description.</summary>
    public string Description { get; init; } = "";

    /// <summary>Created (UTC).</summary>
    public DateTime AddedTime { get; init; }

    /// <summary>Member bug ids, sorted ordinally.</summary>
    public List<string> BugIds { get; init; } = [];
}

/// <summary>A dataset operation failed (unknown bug, duplicate name, bad export folder); the message says why.</summary>
public sealed class DatasetException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Named bug sets (kArena <c>bug_datasets</c>): create, list, show.</summary>
public static class DatasetService
{
    /// <summary>Creates dataset <paramref name="name"/> with the given bugs (ids, extids or bundle keys).</summary>
    /// <exception cref="DatasetException">The name exists, a bug is unknown, or the set is empty.</exception>
    public static DatasetDocument Create(KBenchDbContext db, string name, string description, IEnumerable<string> bugKeys, DateTime now)
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var key in bugKeys)
        {
            var id = db.Bugs.Where(b => b.Id == key || b.Extid == key || b.SyzbotId == key || b.BundleKey == key).Select(b => b.Id).FirstOrDefault()
                ?? throw new DatasetException($"no bug {key}");
            ids.Add(id);
        }
        return Save(db, new DatasetDocument { Name = name, Description = description, AddedTime = now, BugIds = [.. ids] }, replace: false);
    }

    /// <summary>
    /// Creates dataset <paramref name="name"/> from the bugs whose developer patch was committed within
    /// [<paramref name="from"/>, <paramref name="to"/>] (UTC, inclusive; the fix committer date is the date used for cutoff splits).
    /// </summary>
    /// <exception cref="DatasetException">The name exists or no bug matches.</exception>
    public static DatasetDocument CreateFixedBetween(KBenchDbContext db, string name, string description, DateTime from, DateTime to, DateTime now)
    {
        var ids = db.DeveloperPatches.Where(d => d.FixedTime != null && d.FixedTime >= from && d.FixedTime <= to)
            .Select(d => d.BugId).ToList();
        return Save(db, new DatasetDocument { Name = name, Description = description, AddedTime = now, BugIds = [.. ids.Order(StringComparer.Ordinal)] }, replace: false);
    }

    /// <summary>Stores a dataset document in one transaction (joining the caller's open transaction, if any). With <paramref name="replace"/> an existing dataset of that name is overwritten; without, it is an error unless identical.</summary>
    /// <exception cref="DatasetException">Duplicate name, unknown bug or empty dataset.</exception>
    public static DatasetDocument Save(KBenchDbContext db, DatasetDocument doc, bool replace)
    {
        if (string.IsNullOrWhiteSpace(doc.Name))
        {
            throw new DatasetException("a dataset needs a name");
        }
        if (doc.BugIds.Count == 0)
        {
            throw new DatasetException($"dataset {doc.Name} would be empty");
        }
        var known = db.Bugs.Where(b => doc.BugIds.Contains(b.Id)).Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
        var unknown = doc.BugIds.FirstOrDefault(id => !known.Contains(id));
        if (unknown is not null)
        {
            throw new DatasetException($"dataset {doc.Name}: no bug {unknown} in this workspace");
        }
        using var tx = db.Database.CurrentTransaction is null ? db.Database.BeginTransaction() : null;
        var existing = db.Datasets.Include(d => d.Members).SingleOrDefault(d => d.Name == doc.Name);
        if (existing is not null)
        {
            if (JsonSerializer.Serialize(ToDocument(existing)) == JsonSerializer.Serialize(doc))
            {
                return doc;
            }
            if (!replace)
            {
                throw new DatasetException($"dataset {doc.Name} exists already");
            }
            db.Datasets.Remove(existing);
            db.SaveChanges();
        }
        db.Datasets.Add(new Dataset
        {
            Name = doc.Name,
            Description = doc.Description,
            AddedTime = doc.AddedTime,
            Members = [.. doc.BugIds.Distinct().Select(id => new DatasetMember { BugId = id })],
        });
        db.SaveChanges();
        tx?.Commit();
        return doc;
    }

    /// <summary>All datasets, by name.</summary>
    public static List<DatasetDocument> List(KBenchDbContext db)
        => [.. db.Datasets.AsNoTracking().Include(d => d.Members).OrderBy(d => d.Name).AsEnumerable().Select(ToDocument)];

    /// <summary>One dataset; null when unknown.</summary>
    public static DatasetDocument? Find(KBenchDbContext db, string name)
        => db.Datasets.AsNoTracking().Include(d => d.Members).Where(d => d.Name == name).AsEnumerable().Select(ToDocument).SingleOrDefault();

    /// <summary>Member bug ids of dataset <paramref name="name"/>.</summary>
    /// <exception cref="DatasetException">Unknown dataset.</exception>
    public static List<string> MemberIds(KBenchDbContext db, string name)
        => Find(db, name)?.BugIds ?? throw new DatasetException($"no dataset {name}");

    private static DatasetDocument ToDocument(Dataset d) => new()
    {
        Name = d.Name,
        Description = d.Description,
        AddedTime = d.AddedTime,
        BugIds = [.. d.Members.Select(m => m.BugId).Order(StringComparer.Ordinal)],
    };
}
