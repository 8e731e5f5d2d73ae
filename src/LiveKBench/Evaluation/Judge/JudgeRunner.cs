using System.Diagnostics;
using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Llm;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace LiveKBench.Evaluation.Judge;

/// <summary>Result of one vote.</summary>
/// <param name="Outcome">Yes, No or Error.</param>
/// <param name="MessagesJson">JSON list of {role, content}: system, user, and the assistant reply when there was one.</param>
/// <param name="Error">Why the vote is Error.</param>
/// <param name="InputTokens">Prompt tokens reported by the API (0 when unknown).</param>
/// <param name="OutputTokens">Completion tokens reported by the API.</param>
/// <param name="DollarCost">USD from the model configuration's prices.</param>
/// <param name="LatencySeconds">Wall time including retries, seconds.</param>
public sealed record VoteResult(VoteOutcome Outcome, string MessagesJson, string? Error, long InputTokens, long OutputTokens, double DollarCost, double LatencySeconds);

/// <summary>Counts of one judge pass.</summary>
/// <param name="Pairs">Pairs (agent run, developer patch) judged in this pass.</param>
/// <param name="Equivalent">Pairs judged equivalent (yes &gt; no).</param>
/// <param name="Discrepant">Pairs judged not equivalent (including ties).</param>
/// <param name="Failed">Pairs whose every vote errored (Status failed; retried next run).</param>
/// <param name="DollarCost">USD spent.</param>
public sealed record JudgeSummary(int Pairs, int Equivalent, int Discrepant, int Failed, double DollarCost);

/// <summary>
/// The LLM judge (karena.md §4.3): for each agent run with a patch whose bug has a developer patch, asks the model
/// <c>votes</c> times, concurrently (at most <see cref="ModelConfig.MaxConcurrency"/> requests in flight overall),
/// whether the agent patch is equivalent to the developer patch. Transient failures (HTTP 408/429/5xx, connection
/// errors, per-attempt timeouts of <see cref="ModelConfig.TimeoutSeconds"/>) are retried with exponential back-off
/// (Polly); a vote that still fails, or whose reply has no single verdict, is an error vote. The pair is
/// equivalent when yes &gt; no (errors ignored, ties discrepant); when every vote errored the evaluation is
/// Status failed with the reason and is retried by the next run until Attempts reaches the maximum.
/// </summary>
public sealed class JudgeRunner : IDisposable
{
    private readonly IChatClient _client;
    private readonly ModelConfig _model;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _gate;

    /// <summary>Creates a runner over <paramref name="client"/> configured by <paramref name="model"/>.</summary>
    public JudgeRunner(IChatClient client, ModelConfig model)
    {
        _client = client;
        _model = model;
        _gate = new SemaphoreSlim(Math.Max(1, model.MaxConcurrency));
        var builder = new ResiliencePipelineBuilder();
        if (model.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<ChatApiException>(e => e.IsTransient)
                    .Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = model.MaxRetries,
                Delay = TimeSpan.FromSeconds(Math.Max(0, model.RetryDelaySeconds)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        builder.AddTimeout(TimeSpan.FromSeconds(Math.Max(0.01, model.TimeoutSeconds)));
        _pipeline = builder.Build();
    }

    /// <summary>Releases the concurrency gate (not the chat client, which the caller owns).</summary>
    public void Dispose() => _gate.Dispose();

    /// <summary>One vote: a chat request with retries, parsed. Never throws except for cancellation.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<VoteResult> VoteAsync(string prompt, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage> { new(ChatRole.System, JudgePrompt.SystemMessage), new(ChatRole.User, prompt) };
        var log = messages.Select(m => new Dictionary<string, string> { ["role"] = m.Role.Value, ["content"] = m.Text }).ToList();
        var sw = Stopwatch.StartNew();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await _pipeline.ExecuteAsync(async ct => await _client.GetResponseAsync(messages, null, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            var text = response.Text;
            log.Add(new() { ["role"] = "assistant", ["content"] = text });
            var input = response.Usage?.InputTokenCount ?? 0;
            var output = response.Usage?.OutputTokenCount ?? 0;
            var parsed = JudgePrompt.Parse(text);
            return new VoteResult(parsed.Outcome, JsonSerializer.Serialize(log), parsed.Error, input, output, _model.Cost(input, output), sw.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is ChatApiException or TimeoutRejectedException or HttpRequestException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            var why = ex is TimeoutRejectedException ? $"no answer within {_model.TimeoutSeconds:0.###} s (after {_model.MaxRetries} retries)" : $"LLM API error: {ex.Message}";
            // An unusable 2xx answer (e.g. no choices) may still report token usage, which is billed.
            var usage = (ex as ChatApiException)?.Usage;
            var input = usage?.InputTokenCount ?? 0;
            var output = usage?.OutputTokenCount ?? 0;
            return new VoteResult(VoteOutcome.Error, JsonSerializer.Serialize(log), why, input, output, _model.Cost(input, output), sw.Elapsed.TotalSeconds);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="votes"/> votes concurrently on one prompt.</summary>
    public async Task<IReadOnlyList<VoteResult>> VotesAsync(string prompt, int votes, CancellationToken cancellationToken)
        => await Task.WhenAll(Enumerable.Range(0, votes).Select(_ => VoteAsync(prompt, cancellationToken))).ConfigureAwait(false);

    /// <summary>Loads (or refreshes) the judge configuration row from <c>configs/judges/NAME.yaml</c>.</summary>
    public static JudgeConfiguration UpsertConfiguration(KBenchDbContext db, JudgeConfigFile file)
    {
        var row = db.JudgeConfigurations.FirstOrDefault(j => j.Name == file.Name);
        var prompt = file.Prompt ?? JudgePrompt.DefaultTemplate;
        if (row is null)
        {
            row = new JudgeConfiguration { Name = file.Name, Prompt = prompt, ModelConfigName = file.Model };
            db.JudgeConfigurations.Add(row);
        }
        row.Prompt = prompt;
        row.ModelConfigName = file.Model;
        row.Votes = file.Votes;
        row.ConfigText = file.Text;
        db.SaveChanges();
        return row;
    }

    /// <summary>
    /// Judges every pending pair for <paramref name="judge"/>: agent runs with a patch whose bug has an available
    /// developer patch and that have no evaluation by this judge yet, or a failed/pending one with Attempts below
    /// <paramref name="maxAttempts"/>. Pairs run concurrently; each is stored as soon as its votes are in.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; pairs already stored stay.</exception>
    public async Task<JudgeSummary> RunAsync(KBenchDbContext db, JudgeConfiguration judge, int maxAttempts, ILogger logger, CancellationToken cancellationToken = default)
    {
        var done = db.JudgeEvaluations.AsNoTracking().Where(e => e.JudgeConfigurationId == judge.Id)
            .Select(e => new { e.AgentRunId, e.Status, e.Attempts }).ToList()
            .Where(e => e.Status == WorkStatus.Done || e.Attempts >= maxAttempts)
            .Select(e => e.AgentRunId).ToHashSet();
        var pairs = (from r in db.AgentRuns.AsNoTracking()
                     where r.PatchId != null
                     join d in db.DeveloperPatches.AsNoTracking() on r.BugId equals d.BugId
                     where d.PatchId != null && d.Status == DeveloperPatchStatus.Available
                     select new { RunId = r.Id, DevId = d.Id, AgentPatch = r.Patch!.Content, DevPatch = d.Patch!.Content, d.Message })
                    .AsEnumerable()
                    .Where(p => !done.Contains(p.RunId))
                    .ToList();
        logger.LogInformation("judge {Judge}: {Pairs} pairs to evaluate with {Votes} votes each", judge.Name, pairs.Count, judge.Votes);
        var tasks = pairs.Select(async p =>
        {
            var prompt = JudgePrompt.Build(judge.Prompt, p.DevPatch, p.Message ?? "", p.AgentPatch);
            var votes = await VotesAsync(prompt, judge.Votes, cancellationToken).ConfigureAwait(false);
            return (p.RunId, p.DevId, Votes: votes);
        }).ToList();
        int eq = 0, disc = 0, failed = 0;
        double cost = 0;
        await foreach (var t in Task.WhenEach(tasks).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var (runId, devId, votes) = await t.ConfigureAwait(false);
            var row = db.JudgeEvaluations.Include(e => e.Votes).FirstOrDefault(e => e.JudgeConfigurationId == judge.Id && e.AgentRunId == runId);
            if (row is null)
            {
                row = new JudgeEvaluation { JudgeConfigurationId = judge.Id, AgentRunId = runId, DeveloperPatchId = devId };
                db.JudgeEvaluations.Add(row);
            }
            else
            {
                db.JudgeVotes.RemoveRange(row.Votes);
                row.Votes.Clear();
            }
            Apply(row, votes);
            row.DeveloperPatchId = devId;
            row.Attempts++;
            row.UpdatedTime = DateTime.UtcNow;
            cost += row.DollarCost;
            if (row.Status == WorkStatus.Failed)
            {
                failed++;
                logger.LogWarning("judge {Judge}, run {Run}: {Reason}", judge.Name, runId, row.FailureReason);
            }
            else if (row.Outcome == JudgeOutcome.Equivalent)
            {
                eq++;
            }
            else
            {
                disc++;
            }
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        return new JudgeSummary(pairs.Count, eq, disc, failed, cost);
    }

    /// <summary>Fills counts, outcome, status, cost and vote rows of <paramref name="row"/> from <paramref name="votes"/>.</summary>
    public static void Apply(JudgeEvaluation row, IReadOnlyList<VoteResult> votes)
    {
        row.YesCount = votes.Count(v => v.Outcome == VoteOutcome.Yes);
        row.NoCount = votes.Count(v => v.Outcome == VoteOutcome.No);
        row.ErrorCount = votes.Count(v => v.Outcome == VoteOutcome.Error);
        row.DollarCost = votes.Sum(v => v.DollarCost);
        for (var i = 0; i < votes.Count; i++)
        {
            var v = votes[i];
            row.Votes.Add(new JudgeVote
            {
                Index = i,
                Outcome = v.Outcome,
                MessagesJson = v.MessagesJson,
                Error = v.Error,
                InputTokens = v.InputTokens,
                OutputTokens = v.OutputTokens,
                DollarCost = v.DollarCost,
                LatencySeconds = v.LatencySeconds,
            });
        }
        if (votes.Count > 0 && row.ErrorCount == votes.Count)
        {
            row.Status = WorkStatus.Failed;
            row.Outcome = null;
            var reasons = votes.Select(v => v.Error).Distinct().Take(3);
            row.FailureReason = $"all {votes.Count} votes failed: {string.Join("; ", reasons)}";
        }
        else
        {
            row.Status = WorkStatus.Done;
            row.Outcome = row.YesCount > row.NoCount ? JudgeOutcome.Equivalent : JudgeOutcome.Discrepant;
            row.FailureReason = null;
        }
    }
}
