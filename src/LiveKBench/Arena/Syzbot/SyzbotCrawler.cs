using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveKBench.Arena.Syzbot;

/// <summary>What a crawl does.</summary>
public sealed record CrawlOptions
{
    /// <summary>Syzbot namespaces to crawl, e.g. <c>upstream</c> (duplicates are crawled once).</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = ["upstream"];

    /// <summary>Reject bugs reported (status date, else first crash) more than this many days before now; null = no age limit.</summary>
    public int? MaxAgeDays { get; init; }

    /// <summary>Process at most this many list entries that need work (new, transitioned or previously failed/rejected); null = all.</summary>
    public int? Limit { get; init; }

    /// <summary>Entries fetched at once (the rate limiter still bounds the request rate). Default 4.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Re-check stored fixed bugs whose developer patch is missing (a mirror may have the commit now). Default true.</summary>
    public bool RecheckMissingPatches { get; init; } = true;
}

/// <summary>Progress of a crawl.</summary>
/// <param name="Done">Entries finished.</param>
/// <param name="Total">Entries to process in this crawl (known after the list pages).</param>
/// <param name="Current">Title of the entry just finished, if any.</param>
public sealed record CrawlProgress(int Done, int Total, string? Current);

/// <summary>One list entry the crawl could not process (retried by the next crawl).</summary>
/// <param name="Namespace">Namespace.</param>
/// <param name="Link">List link (as given).</param>
/// <param name="Title">Title from the list.</param>
/// <param name="Reason">Why.</param>
public sealed record CrawlFailure(string Namespace, string Link, string Title, string Reason);

/// <summary>The counts of one crawl.</summary>
/// <param name="New">Bugs stored for the first time.</param>
/// <param name="Updated">Stored bugs whose content changed without an open→fixed transition (e.g. a developer patch found in a mirror).</param>
/// <param name="Transitioned">Bugs stored as open that are now fixed (status, fix commits, fix time, developer patch).</param>
/// <param name="Rejected">Entries rejected by a filter, by reason (e.g. "no reproducer": 2).</param>
/// <param name="Failures">Entries that failed this time.</param>
/// <param name="ListErrors">List pages that could not be fetched (their namespace was not crawled).</param>
/// <param name="Skipped">Entries already stored with the same status (no request made).</param>
public sealed record CrawlSummary(
    int New,
    int Updated,
    int Transitioned,
    IReadOnlyDictionary<string, int> Rejected,
    IReadOnlyList<CrawlFailure> Failures,
    IReadOnlyList<string> ListErrors,
    int Skipped)
{
    /// <summary>Number of failed entries.</summary>
    public int Failed => Failures.Count;
}

/// <summary>
/// Crawls syzbot list pages into the store: new bugs are stored (crashes, fix commits, C/syz reproducers, crash report,
/// kernel config and its architecture), bugs stored open that are now fixed are updated, filtered bugs are recorded as
/// rejected and errors as failed (<see cref="CrawlRecord"/>), and every stored fixed bug gets its developer patch from a
/// local mirror (or a missing one with the reason). Each bug is stored in its own transaction, so a killed crawl resumes
/// without duplicates; one bad bug never stops the crawl.
/// </summary>
public sealed partial class SyzbotCrawler
{
    /// <summary>The architecture the benchmark keeps.</summary>
    public const string RequiredArchitecture = "x86_64";

    private readonly SyzbotClient _client;
    private readonly Func<KBenchDbContext> _openStore;
    private readonly DeveloperPatchResolver _resolver;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _storeLock = new(); // one writer at a time in this process (SQLite serializes across processes)

    /// <summary>Creates the crawler.</summary>
    /// <param name="client">The syzbot client (rate limit, retries, cache).</param>
    /// <param name="openStore">Opens a new store context (one per stored bug).</param>
    /// <param name="resolver">Finds fix commits in local mirrors.</param>
    /// <param name="timeProvider">Clock for added times and the age filter; default system.</param>
    /// <param name="logger">Logger; default none.</param>
    public SyzbotCrawler(SyzbotClient client, Func<KBenchDbContext> openStore, DeveloperPatchResolver resolver, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        _client = client;
        _openStore = openStore;
        _resolver = resolver;
        _time = timeProvider ?? TimeProvider.System;
        _log = logger ?? NullLogger.Instance;
    }

    /// <summary>Runs one crawl.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; everything stored so far stays stored.</exception>
    public async Task<CrawlSummary> CrawlAsync(CrawlOptions options, IProgress<CrawlProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var tally = new Tally();
        var work = new List<WorkItem>();
        var skipped = 0;
        // Distinct: the configuration binder appends settings.json's list to the default ["upstream"].
        foreach (var ns in options.Namespaces.Distinct(StringComparer.Ordinal))
        {
            IReadOnlyList<SyzbotListEntry> open, fixedList;
            try
            {
                open = await _client.GetListAsync(ns, false, cancellationToken).ConfigureAwait(false);
                fixedList = await _client.GetListAsync(ns, true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SyzbotHttpException or SyzbotFormatException)
            {
                _log.LogError("syzbot: lists of namespace {Namespace} unavailable: {Reason}", ns, ex.Message);
                tally.ListErrors.Add($"{ns}: {ex.Message}");
                continue;
            }
            var (items, alreadyStored) = PlanNamespace(ns, open, fixedList);
            work.AddRange(items);
            skipped += alreadyStored;
        }
        if (options.Limit is { } limit && work.Count > limit)
        {
            work = work.Take(Math.Max(0, limit)).ToList();
        }
        _log.LogInformation("syzbot: {Work} entries to process, {Skipped} already stored", work.Count, skipped);

        var done = 0;
        progress?.Report(new CrawlProgress(0, work.Count, null));
        await Parallel.ForEachAsync(
            work,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Concurrency), CancellationToken = cancellationToken },
            async (item, ct) =>
            {
                var outcome = await ProcessAsync(item, options, ct).ConfigureAwait(false);
                lock (_storeLock)
                {
                    Record(item, outcome, tally);
                }
                progress?.Report(new CrawlProgress(Interlocked.Increment(ref done), work.Count, item.Title));
            }).ConfigureAwait(false);

        if (options.RecheckMissingPatches)
        {
            await RecheckMissingAsync(work.Select(w => w.BugId).Where(id => id is not null).ToHashSet()!, tally, cancellationToken).ConfigureAwait(false);
        }
        return new CrawlSummary(tally.New, tally.Updated, tally.Transitioned, tally.Rejected, tally.Failures, tally.ListErrors, skipped);
    }

    /// <summary>
    /// Re-checks the developer patch of every stored syzbot bug that is fixed and whose patch is missing (or absent);
    /// stores the ones now found in a mirror.
    /// </summary>
    /// <returns>How many bugs got their developer patch.</returns>
    public async Task<int> RecheckMissingPatchesAsync(CancellationToken cancellationToken = default)
    {
        var tally = new Tally();
        await RecheckMissingAsync([], tally, cancellationToken).ConfigureAwait(false);
        return tally.Updated;
    }

    /// <summary>Architecture named by a kernel config header line <c># Linux/&lt;arch&gt; &lt;version&gt; Kernel Configuration</c> (first 20 lines); null when none.</summary>
    public static string? ArchitectureOfConfig(string config)
    {
        foreach (var line in config.Split('\n').Take(20))
        {
            var m = ConfigHeader().Match(line);
            if (m.Success)
            {
                return m.Groups[1].Value;
            }
        }
        return null;
    }

    /// <summary>The report date in a syzbot status text (<c>... reported C repro on 2019/12/15 20:35</c>), UTC; null when absent.</summary>
    public static DateTime? ReportedTimeOfStatus(string? status)
    {
        if (status is null)
        {
            return null;
        }
        var m = ReportedOn().Match(status);
        return m.Success && DateTime.TryParseExact(m.Groups[1].Value, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? DateTime.SpecifyKind(t, DateTimeKind.Utc)
            : null;
    }

    [GeneratedRegex(@"^#\s*Linux/([A-Za-z0-9_\-]+)\s")]
    private static partial Regex ConfigHeader();

    [GeneratedRegex(@"reported\b.*?\bon (\d{4}/\d{2}/\d{2} \d{2}:\d{2})")]
    private static partial Regex ReportedOn();

    private (List<WorkItem> Items, int AlreadyStored) PlanNamespace(string ns, IReadOnlyList<SyzbotListEntry> open, IReadOnlyList<SyzbotListEntry> fixedList)
    {
        // A link on both lists counts as fixed.
        var entries = new Dictionary<string, (SyzbotListEntry Entry, bool Fixed)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var (list, isFixed) in new[] { (open, false), (fixedList, true) })
        {
            foreach (var e in list)
            {
                var key = e.Link ?? $"(no link) {e.Title}";
                if (!entries.ContainsKey(key))
                {
                    order.Add(key);
                }
                entries[key] = (e, isFixed || (entries.TryGetValue(key, out var prev) && prev.Fixed));
            }
        }
        using var db = _openStore();
        var bugs = db.Bugs.AsNoTracking().Select(b => new { b.Id, b.Extid, b.SyzbotId, b.Status }).ToList();
        var items = new List<WorkItem>();
        var stored = 0;
        foreach (var key in order)
        {
            var (entry, isFixed) = entries[key];
            BugLink? link = null;
            string? formatError = null;
            try
            {
                link = BugLink.Parse(entry.Link);
            }
            catch (SyzbotFormatException ex)
            {
                formatError = ex.Message;
            }
            var existing = link is null ? null
                : link.Kind == "extid" ? bugs.FirstOrDefault(b => b.Id == link.Value || b.Extid == link.Value)
                : bugs.FirstOrDefault(b => b.Id == link.Value || b.SyzbotId == link.Value);
            if (existing is not null && (existing.Status == BugStatus.Fixed || !isFixed))
            {
                stored++;
                continue;
            }
            items.Add(new WorkItem(ns, key, entry.Title ?? "", isFixed, link, formatError, existing?.Id, existing is not null));
        }
        return (items, stored);
    }

    private async Task<Outcome> ProcessAsync(WorkItem item, CrawlOptions options, CancellationToken ct)
    {
        if (item.Link is null)
        {
            return Outcome.Fail(item.FormatError ?? "unexpected bug link format", 0);
        }
        try
        {
            var (d, _, attempts) = await _client.GetBugAsync(item.Link.ToString(), item.Fixed, ct).ConfigureAwait(false);
            var crashes = d.Crashes!;
            if (item.Fixed && (d.FixCommits is null || d.FixCommits.Count == 0))
            {
                return Outcome.Fail($"{item.Link}: on the fixed list but the detail has no fix-commits", attempts);
            }
            if (crashes.Count == 0)
            {
                return Outcome.Reject("no crashes");
            }
            var c0 = crashes[0];
            if (string.IsNullOrEmpty(c0.SyzReproducer) && string.IsNullOrEmpty(c0.CReproducer))
            {
                return Outcome.Reject("no reproducer");
            }
            var reported = ReportedTimeOfStatus(d.Status) ?? d.FirstCrash;
            if (options.MaxAgeDays is { } maxAge && reported is { } r && r < _time.GetUtcNow().UtcDateTime.AddDays(-maxAge))
            {
                return Outcome.Reject($"reported more than {maxAge} days ago");
            }
            if (string.IsNullOrEmpty(c0.KernelConfig))
            {
                return Outcome.Fail($"{item.Link}: crashes[0] has no kernel-config link", attempts);
            }
            var config = await _client.GetTextAsync(c0.KernelConfig, ct).ConfigureAwait(false);
            var arch = ArchitectureOfConfig(config);
            if (arch is null)
            {
                return Outcome.Reject("kernel config has no Linux/<arch> header");
            }
            if (arch != RequiredArchitecture)
            {
                return Outcome.Reject($"kernel config is Linux/{arch}");
            }
            var syz = string.IsNullOrEmpty(c0.SyzReproducer) ? null : await _client.GetTextAsync(c0.SyzReproducer, ct).ConfigureAwait(false);
            var c = string.IsNullOrEmpty(c0.CReproducer) ? null : await _client.GetTextAsync(c0.CReproducer, ct).ConfigureAwait(false);
            var report = string.IsNullOrEmpty(c0.CrashReportLink) ? null : await _client.GetTextAsync(c0.CrashReportLink, ct).ConfigureAwait(false);

            var id = item.Link.Kind == "extid" ? item.Link.Value : d.Id!.ToLowerInvariant();
            var doc = BuildDocument(item, id, d, arch, config, syz, c, report, reported);
            MirrorCommit? mirror = null;
            string? missingReason = null;
            if (item.Fixed)
            {
                (mirror, missingReason) = await ResolveFixAsync(d.FixCommits!, ct).ConfigureAwait(false);
            }
            return Outcome.Store(doc, mirror, missingReason);
        }
        catch (SyzbotHttpException ex)
        {
            return Outcome.Fail(ex.Message, ex.Attempts);
        }
        catch (SyzbotFormatException ex)
        {
            return Outcome.Fail(ex.Message, 1);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _log.LogError(ex, "syzbot: unexpected error on {Link}", item.Key);
            return Outcome.Fail($"unexpected error: {ex.GetType().Name}: {ex.Message}", 0);
        }
    }

    private async Task<(MirrorCommit? Commit, string? Reason)> ResolveFixAsync(IReadOnlyList<SyzbotCommit> fixes, CancellationToken ct)
    {
        var fix = fixes.FirstOrDefault(f => !string.IsNullOrEmpty(f.Hash));
        if (fix is null)
        {
            return (null, "syzbot gives no hash for the fix commit yet");
        }
        try
        {
            return await _resolver.ResolveAsync(fix.Hash!, fix.Repo, ct).ConfigureAwait(false);
        }
        catch (ExternalProcessException ex)
        {
            return (null, $"git failed on fix commit {fix.Hash}: {ex.Message}");
        }
    }

    private BugDocument BuildDocument(WorkItem item, string id, SyzbotBugDetail d, string arch, string config, string? syz, string? c, string? report, DateTime? reported)
    {
        var crashes = d.Crashes!;
        var c0 = crashes[0];
        var meta = new Dictionary<string, object?>
        {
            ["syzbot"] = new Dictionary<string, object?>
            {
                ["status"] = d.Status,
                ["list"] = item.Fixed ? "fixed" : "open",
                ["discussions"] = d.Discussions ?? [],
                ["causeCommit"] = d.CauseCommit,
            },
        };
        var reproducers = new List<ReproducerDocument>();
        if (c is not null)
        {
            reproducers.Add(new ReproducerDocument { Kind = ReproducerKind.C, Text = c });
        }
        if (syz is not null)
        {
            reproducers.Add(new ReproducerDocument { Kind = ReproducerKind.Syz, Text = syz, Options = c0.ReproOpts });
        }
        return new BugDocument
        {
            Id = id,
            Extid = item.Link!.Kind == "extid" ? item.Link.Value : null,
            SyzbotId = d.Id!.ToLowerInvariant(),
            Title = d.Title!,
            Status = item.Fixed ? BugStatus.Fixed : BugStatus.Open,
            Source = BugSource.Syzbot,
            Link = _client.BaseUrl + item.Link,
            Namespace = item.Namespace,
            CrashTitle = c0.Title ?? d.Title,
            CrashReport = report,
            AltTitles = Bugs.AltTitles.Collect(c0.Title ?? d.Title!, [d.Title, .. crashes.Select(x => x.Title)], report),
            KernelSourceGit = c0.KernelSourceGit,
            KernelSourceCommit = c0.KernelSourceCommit,
            KernelConfig = config,
            Architecture = arch,
            SyzkallerCommit = c0.SyzkallerCommit,
            CauseCommitHash = d.CauseCommit?.Hash,
            CauseCommitTitle = d.CauseCommit?.Title,
            ReportedTime = reported,
            FirstCrash = d.FirstCrash,
            LastCrash = d.LastCrash,
            FixTime = d.FixTime,
            CloseTime = d.CloseTime,
            MetadataJson = JsonSerializer.Serialize(meta, BugDocument.JsonOptions),
            Crashes = [.. crashes.Select((x, i) => new CrashDocument
            {
                Title = x.Title,
                SyzReproducerLink = NullIfEmpty(x.SyzReproducer),
                CReproducerLink = NullIfEmpty(x.CReproducer),
                ReproOpts = NullIfEmpty(x.ReproOpts),
                KernelConfigLink = NullIfEmpty(x.KernelConfig),
                KernelSourceGit = NullIfEmpty(x.KernelSourceGit),
                KernelSourceCommit = NullIfEmpty(x.KernelSourceCommit),
                SyzkallerGit = NullIfEmpty(x.SyzkallerGit),
                SyzkallerCommit = NullIfEmpty(x.SyzkallerCommit),
                CompilerDescription = NullIfEmpty(x.CompilerDescription),
                Architecture = NullIfEmpty(x.Architecture) ?? (i == 0 || x.KernelConfig == c0.KernelConfig ? arch : null),
                CrashReportLink = NullIfEmpty(x.CrashReportLink),
            })],
            FixCommits = [.. (d.FixCommits ?? []).Select(f => new FixCommitDocument
            {
                Title = f.Title,
                Hash = NullIfEmpty(f.Hash),
                Link = NullIfEmpty(f.Link),
                Repo = NullIfEmpty(f.Repo),
                Branch = NullIfEmpty(f.Branch),
                Author = NullIfEmpty(f.Author),
                AuthorName = NullIfEmpty(f.AuthorName),
                Date = f.Date,
            })],
            Reproducers = reproducers,
        };
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private void Record(WorkItem item, Outcome outcome, Tally tally)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        using var db = _openStore();
        using var tx = db.Database.BeginTransaction();
        var rec = db.CrawlRecords.SingleOrDefault(r => r.Namespace == item.Namespace && r.Link == item.Key);
        if (rec is null)
        {
            rec = new CrawlRecord { Namespace = item.Namespace, Link = item.Key, FirstSeen = now };
            db.CrawlRecords.Add(rec);
        }
        rec.Title = item.Title;
        rec.LastSeen = now;
        switch (outcome.Kind)
        {
            case CrawlOutcome.Stored:
                var doc = outcome.Document!;
                var existing = BugRepository.Load(db, [doc.Id]).SingleOrDefault();
                var current = existing is null ? null : BugDocument.From(existing);
                doc = doc with
                {
                    AddedTime = current?.AddedTime ?? now,
                    Subsystems = current?.Subsystems ?? [],
                    ParentOfFix = outcome.Mirror?.ParentCommit ?? current?.ParentOfFix,
                    MirrorFixCommit = outcome.Mirror?.CommitHash ?? current?.MirrorFixCommit,
                    DeveloperPatch = DeveloperPatchOf(doc.Status, outcome.Mirror, outcome.MissingReason, current?.DeveloperPatch, now),
                };
                ImportSummary summary;
                try
                {
                    summary = BugRepository.Upsert(db, [doc], CancellationToken.None);
                }
                catch (BugImportException ex)
                {
                    // Syzbot gave data that is not a valid bug (or the bug is being imported elsewhere): nothing of it is
                    // stored, the entry is recorded as failed with the reason and retried by the next crawl.
                    tx.Rollback();
                    db.ChangeTracker.Clear();
                    Record(item, Outcome.Fail($"not stored: {ex.Message}", outcome.HttpAttempts), tally);
                    return;
                }
                SetModifiedFiles(db, doc.Id, outcome.Mirror);
                rec.Outcome = CrawlOutcome.Stored;
                rec.Reason = null;
                rec.FailureReason = null;
                rec.Attempts = 0;
                rec.BugId = doc.Id;
                db.SaveChanges();
                tx.Commit();
                if (current is null)
                {
                    tally.New++;
                }
                else if (current.Status == BugStatus.Open && doc.Status == BugStatus.Fixed)
                {
                    tally.Transitioned++;
                }
                else if (summary.Updated > 0)
                {
                    tally.Updated++;
                }
                _log.LogInformation("syzbot: stored {Id} ({Status}) {Title}", doc.Id, EnumText.ToText(doc.Status), doc.Title);
                break;
            case CrawlOutcome.Rejected:
                rec.Outcome = CrawlOutcome.Rejected;
                rec.Reason = outcome.Reason;
                rec.FailureReason = null;
                rec.Attempts = 0;
                db.SaveChanges();
                tx.Commit();
                tally.Rejected[outcome.Reason!] = tally.Rejected.GetValueOrDefault(outcome.Reason!) + 1;
                _log.LogInformation("syzbot: rejected {Link} {Title}: {Reason}", item.Key, item.Title, outcome.Reason);
                break;
            default:
                // A stored bug whose update failed keeps its BugId (and its stored state) and is retried next crawl.
                rec.Outcome = CrawlOutcome.Failed;
                rec.Reason = outcome.Reason;
                rec.FailureReason = outcome.Reason;
                rec.Attempts++;
                db.SaveChanges();
                tx.Commit();
                tally.Failures.Add(new CrawlFailure(item.Namespace, item.Key, item.Title, outcome.Reason!));
                _log.LogWarning("syzbot: failed {Link} {Title}: {Reason} (HTTP attempts {Attempts}; retried by the next crawl)", item.Key, item.Title, outcome.Reason, outcome.HttpAttempts);
                break;
        }
    }

    private static DeveloperPatchDocument? DeveloperPatchOf(BugStatus status, MirrorCommit? mirror, string? missingReason, DeveloperPatchDocument? current, DateTime now)
    {
        if (status != BugStatus.Fixed)
        {
            return current;
        }
        if (mirror is not null)
        {
            return new DeveloperPatchDocument
            {
                Status = DeveloperPatchStatus.Available,
                CommitHash = mirror.CommitHash,
                ParentCommit = mirror.ParentCommit,
                Message = mirror.Message,
                Author = mirror.Author,
                FixedTime = mirror.CommitterTimeUtc,
                AddedTime = current is { Status: DeveloperPatchStatus.Available } ? current.AddedTime : now,
                Patch = mirror.Diff,
            };
        }
        if (current is { Status: DeveloperPatchStatus.Available })
        {
            return current; // found earlier; a mirror that went away does not lose it
        }
        return new DeveloperPatchDocument
        {
            Status = DeveloperPatchStatus.Missing,
            CommitHash = current?.CommitHash ?? ExtractHash(missingReason),
            AddedTime = current?.AddedTime ?? now,
            FailureReason = missingReason,
        };
    }

    private static string? ExtractHash(string? reason)
    {
        var m = reason is null ? null : Regex.Match(reason, @"\b[0-9a-f]{40}\b");
        return m is { Success: true } ? m.Value : null;
    }

    private static void SetModifiedFiles(KBenchDbContext db, string bugId, MirrorCommit? mirror)
    {
        if (mirror is null)
        {
            return;
        }
        var patch = db.DeveloperPatches.Where(d => d.BugId == bugId).Select(d => d.Patch).SingleOrDefault();
        if (patch is not null && patch.ModifiedFiles.Count == 0)
        {
            patch.ModifiedFiles = [.. mirror.ModifiedFiles];
            db.SaveChanges();
        }
    }

    private async Task RecheckMissingAsync(HashSet<string> exclude, Tally tally, CancellationToken ct)
    {
        List<string> ids;
        using (var db = _openStore())
        {
            ids = db.Bugs.AsNoTracking()
                .Where(b => b.Source == BugSource.Syzbot && b.Status == BugStatus.Fixed
                    && (b.DeveloperPatch == null || b.DeveloperPatch.Status == DeveloperPatchStatus.Missing))
                .Select(b => b.Id).ToList();
        }
        foreach (var id in ids.Where(i => !exclude.Contains(i)))
        {
            ct.ThrowIfCancellationRequested();
            Bug? bug;
            using (var db = _openStore())
            {
                bug = BugRepository.Load(db, [id]).SingleOrDefault();
            }
            if (bug is null)
            {
                continue;
            }
            var fixes = bug.FixCommits.OrderBy(f => f.Index).Select(f => new SyzbotCommit { Hash = f.Hash, Repo = f.Repo, Title = f.Title }).ToList();
            var (mirror, reason) = await ResolveFixAsync(fixes, ct).ConfigureAwait(false);
            lock (_storeLock)
            {
                var now = _time.GetUtcNow().UtcDateTime;
                using var db = _openStore();
                using var tx = db.Database.BeginTransaction();
                var fresh = BugRepository.Load(db, [id]).Single();
                var current = BugDocument.From(fresh);
                var doc = current with
                {
                    ParentOfFix = mirror?.ParentCommit ?? current.ParentOfFix,
                    MirrorFixCommit = mirror?.CommitHash ?? current.MirrorFixCommit,
                    DeveloperPatch = DeveloperPatchOf(BugStatus.Fixed, mirror, reason, current.DeveloperPatch, now),
                };
                try
                {
                    BugRepository.Upsert(db, [doc], CancellationToken.None);
                }
                catch (BugImportException ex)
                {
                    // The stored bug is kept as it was; the developer patch is looked for again by the next crawl.
                    tx.Rollback();
                    _log.LogWarning("syzbot: developer patch of {Id} not stored: {Reason}", id, ex.Message);
                    continue;
                }
                SetModifiedFiles(db, id, mirror);
                if (fresh.DeveloperPatch is { } dp && mirror is null)
                {
                    dp.Attempts++;
                }
                db.SaveChanges();
                tx.Commit();
                if (mirror is not null)
                {
                    tally.Updated++;
                    _log.LogInformation("syzbot: developer patch of {Id} found in {Mirror}", id, mirror.MirrorPath);
                }
            }
        }
    }

    private sealed record WorkItem(string Namespace, string Key, string Title, bool Fixed, BugLink? Link, string? FormatError, string? BugId, bool AlreadyStored);

    private sealed record Outcome(CrawlOutcome Kind, string? Reason, int HttpAttempts, BugDocument? Document, MirrorCommit? Mirror, string? MissingReason)
    {
        public static Outcome Fail(string reason, int attempts) => new(CrawlOutcome.Failed, reason, attempts, null, null, null);

        public static Outcome Reject(string reason) => new(CrawlOutcome.Rejected, reason, 0, null, null, null);

        public static Outcome Store(BugDocument doc, MirrorCommit? mirror, string? missingReason) => new(CrawlOutcome.Stored, null, 0, doc, mirror, missingReason);
    }

    private sealed class Tally
    {
        public int New;
        public int Updated;
        public int Transitioned;
        public readonly Dictionary<string, int> Rejected = new(StringComparer.Ordinal);
        public readonly List<CrawlFailure> Failures = [];
        public readonly List<string> ListErrors = [];
    }
}
