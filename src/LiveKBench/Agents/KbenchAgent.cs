using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Llm;
using Microsoft.Extensions.AI;

namespace LiveKBench.Agents;

/// <summary>
/// The built-in agent: a step loop over an <see cref="IChatClient"/> with tools <c>bash</c> (sandboxed, cwd = tree),
/// <c>view_file</c>, <c>edit_file</c>, <c>run_kernel</c> (stateful only) and <c>submit</c>. One step = one model call.
/// Budgets: steps, USD (from token usage and the model's prices) and wall seconds. Malformed replies (bad tool
/// arguments, unknown tools, no choices, HTTP errors) are recorded in traj.json and counted; three in a row end the
/// run with exitReason error.
/// </summary>
/// <param name="client">The model client.</param>
/// <param name="model">Model configuration (prices, temperature, max tokens).</param>
public sealed class KbenchAgent(IChatClient client, ModelConfig model) : IKenvAgent
{
    /// <summary>Default system prompt.</summary>
    public const string DefaultSystemPrompt =
        "You are a Linux kernel developer resolving a kernel crash report found by syzbot. The kernel source tree is your " +
        "working directory. Investigate the crash and make the minimal change that fixes its root cause. Trace the " +
        "reproducer's system calls from their handlers to the crashing function; reason about corrupted state or missing " +
        "checks. Removing the WARN/BUG that fired is cheating. Use the tools; view files with view_file and change them with " +
        "edit_file. The sandbox has no network and does not run the buggy kernel. Call submit when your change is complete.";

    private const int MaxConsecutiveFailures = 3;

    /// <inheritdoc/>
    public async Task<KenvMetadata?> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var budget = context.Task.Budget;
        var time = context.Time;
        var start = time.GetTimestamp();
        TimeSpan Elapsed() => time.GetElapsedTime(start);
        var layout = context.Layout;
        using var log = new StreamWriter(layout.Output(Kenv.LogFile), append: false, new UTF8Encoding(false)) { AutoFlush = true };
        var steps = new JsonArray();
        var traj = new JsonObject
        {
            ["agent"] = "kbench-agent",
            ["model"] = model.Model,
            ["bugId"] = context.Task.BugId,
            ["stateful"] = context.Task.Stateful,
            ["budget"] = JsonSerializer.SerializeToNode(budget, Kenv.JsonOptions),
            ["steps"] = steps,
        };
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, context.Config.SystemPrompt ?? DefaultSystemPrompt),
            new(ChatRole.User, TaskPrompt(context)),
        };
        traj["system"] = messages[0].Text;
        traj["task"] = messages[1].Text;
        var options = new ChatOptions
        {
            Tools = Tools(context.Task.Stateful && context.Kernel is not null),
            Temperature = model.Temperature is { } t ? (float)t : null,
            MaxOutputTokens = model.MaxTokens,
        };
        double cost = 0;
        int stepCount = 0, malformed = 0, consecutiveFailures = 0, runKernelCalls = 0;
        ExitReason? exit = null;
        while (exit is null)
        {
            if (budget.MaxSteps > 0 && stepCount >= budget.MaxSteps)
            {
                exit = ExitReason.StepLimitExceeded;
                break;
            }
            if (budget.MaxUsd > 0 && cost >= budget.MaxUsd)
            {
                exit = ExitReason.CostLimitExceeded;
                break;
            }
            var remaining = budget.Wall - Elapsed();
            if (remaining <= TimeSpan.Zero)
            {
                exit = ExitReason.TimeLimitExceeded;
                break;
            }
            stepCount++;
            var step = new JsonObject { ["index"] = stepCount - 1, ["elapsedSeconds"] = Elapsed().TotalSeconds };
            steps.Add(step);
            log.WriteLine($"step {stepCount - 1}: calling {model.Model}");
            ChatResponse response;
            using (var callCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                callCts.CancelAfter(remaining);
                try
                {
                    response = await client.GetResponseAsync(messages, options, callCts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    step["error"] = "model call interrupted by the time budget";
                    exit = ExitReason.TimeLimitExceeded;
                    break;
                }
                catch (Exception ex) when (ex is HttpRequestException or JsonException)
                {
                    var usageCost = ex is ChatApiException { Usage: { } u } ? model.Cost(u.InputTokenCount ?? 0, u.OutputTokenCount ?? 0) : 0;
                    cost += usageCost;
                    malformed++;
                    consecutiveFailures++;
                    step["error"] = ex.Message;
                    step["costUsd"] = usageCost;
                    if (ex is ChatApiException { Body: { } b })
                    {
                        step["rawReply"] = b;
                    }
                    log.WriteLine($"step {stepCount - 1}: malformed reply: {ex.Message}");
                    if (consecutiveFailures >= MaxConsecutiveFailures)
                    {
                        exit = ExitReason.Error;
                    }
                    WriteTraj(layout, traj, cost, stepCount, malformed, exit);
                    continue;
                }
            }
            var stepCost = response.Usage is { } usage ? model.Cost(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0) : 0;
            cost += stepCost;
            step["inputTokens"] = response.Usage?.InputTokenCount ?? 0;
            step["outputTokens"] = response.Usage?.OutputTokenCount ?? 0;
            step["costUsd"] = stepCost;
            var reply = response.Messages.LastOrDefault() ?? new ChatMessage(ChatRole.Assistant, "");
            step["thought"] = reply.Text;
            messages.Add(reply);
            var calls = reply.Contents.OfType<FunctionCallContent>().ToList();
            var actions = new JsonArray();
            step["actions"] = actions;
            if (calls.Count == 0)
            {
                consecutiveFailures = 0;
                messages.Add(new ChatMessage(ChatRole.User, "No tool was called. Use the tools to investigate and fix the bug, and call submit when done."));
                step["observation"] = "no tool call";
            }
            var results = new List<AIContent>();
            var submitted = false;
            foreach (var call in calls)
            {
                var raw = call.AdditionalProperties?.TryGetValue("rawArguments", out var r) == true ? r?.ToString() : JsonSerializer.Serialize(call.Arguments);
                var action = new JsonObject { ["id"] = call.CallId, ["tool"] = call.Name, ["arguments"] = raw };
                actions.Add(action);
                string observation;
                var bad = false;
                if (call.Exception is not null || call.Arguments is null)
                {
                    observation = $"error: the arguments of {call.Name} are not a valid JSON object ({call.Exception?.Message}); call the tool again with valid JSON arguments";
                    bad = true;
                }
                else
                {
                    (observation, bad, var isSubmit, var kernelCall) = await ExecuteAsync(context, call.Name, call.Arguments, runKernelCalls, Elapsed, cancellationToken).ConfigureAwait(false);
                    submitted |= isSubmit;
                    runKernelCalls += kernelCall ? 1 : 0;
                }
                if (bad)
                {
                    malformed++;
                    action["malformed"] = true;
                }
                action["observation"] = observation;
                log.WriteLine($"step {stepCount - 1}: {call.Name} -> {Truncate(observation, 200).ReplaceLineEndings(" ")}");
                results.Add(new FunctionResultContent(call.CallId, observation));
            }
            consecutiveFailures = calls.Count > 0 && calls.All(c => actions.OfType<JsonObject>().Any(a => a["id"]?.ToString() == c.CallId && a["malformed"] is not null))
                ? consecutiveFailures + 1
                : 0;
            if (results.Count > 0)
            {
                messages.Add(new ChatMessage(ChatRole.Tool, results));
            }
            if (submitted)
            {
                exit = ExitReason.Normal;
            }
            else if (consecutiveFailures >= MaxConsecutiveFailures)
            {
                exit = ExitReason.Error;
            }
            WriteTraj(layout, traj, cost, stepCount, malformed, exit);
        }
        WriteTraj(layout, traj, cost, stepCount, malformed, exit);
        log.WriteLine($"exit: {Kenv.ExitReasonText(exit!.Value)} after {stepCount} steps, {cost.ToString("F6", CultureInfo.InvariantCulture)} USD");
        return new KenvMetadata(cost, Elapsed().TotalSeconds, Kenv.ExitReasonText(exit.Value), stepCount);
    }

    /// <summary>The first user message: crash report, reproducer (lines cut at 150 chars), oracle files, instructions.</summary>
    public static string TaskPrompt(AgentContext context)
    {
        var t = context.Task;
        var sb = new StringBuilder();
        sb.Append("Syzbot found a reproducer that triggers a crash in the kernel tree at ").Append(context.Layout.Tree).Append(" (bug: ").Append(t.Title).Append(").\n\n");
        sb.Append("<crashReport>\n").Append(t.CrashReport.TrimEnd()).Append("\n</crashReport>\n\n");
        sb.Append("<reproducer>\n");
        foreach (var line in (t.Reproducer ?? "No reproducer available.").Split('\n'))
        {
            sb.Append(line.Length > 150 ? line[..150] + "..." : line).Append('\n');
        }
        sb.Append("</reproducer>\n");
        if (t.OracleFiles is { Count: > 0 } files)
        {
            sb.Append("\n<oracleFiles>\nA kernel expert has figured out that the following files need to be modified in order to fix this bug:\n")
              .Append(string.Join('\n', files)).Append("\n</oracleFiles>\n");
        }
        sb.Append("\nMake the minimal change that fixes the bug, then call submit.");
        if (t.Stateful && context.Kernel is not null)
        {
            sb.Append(" You may call run_kernel (at most ").Append(t.Budget.RunKernelCalls).Append(" times) to build the patched kernel and run the reproducer; it reports whether the crash still happens.");
        }
        return sb.ToString();
    }

    private static List<AITool> Tools(bool withKernel)
    {
        var tools = new List<AITool>
        {
            Decl("bash", "Run a bash command in the kernel tree (no network; changes outside the tree are discarded).", """{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}"""),
            Decl("view_file", "Show a file of the tree with line numbers, optionally only lines start_line..end_line (1-based, inclusive).", """{"type":"object","properties":{"path":{"type":"string"},"start_line":{"type":"integer"},"end_line":{"type":"integer"}},"required":["path"]}"""),
            Decl("edit_file", "Replace the exact text old_str, which must occur exactly once in the file, by new_str.", """{"type":"object","properties":{"path":{"type":"string"},"old_str":{"type":"string"},"new_str":{"type":"string"}},"required":["path","old_str","new_str"]}"""),
            Decl("submit", "Finish: the current diff of the tree is your answer.", """{"type":"object","properties":{}}"""),
        };
        if (withKernel)
        {
            tools.Add(Decl("run_kernel", "Build the kernel with your current changes, boot it and run the reproducer; returns the verdict.", """{"type":"object","properties":{}}"""));
        }
        return tools;
    }

    private static AIFunctionDeclaration Decl(string name, string description, string schema)
        => AIFunctionFactory.CreateDeclaration(name, description, JsonDocument.Parse(schema).RootElement.Clone());

    private async Task<(string Observation, bool Bad, bool Submit, bool KernelCall)> ExecuteAsync(
        AgentContext context, string name, IDictionary<string, object?> args, int runKernelCalls, Func<TimeSpan> elapsed, CancellationToken ct)
    {
        var cfg = context.Config.Budgets;
        var max = cfg.MaxObservationChars;
        string? Str(string key) => args.TryGetValue(key, out var v) && v is not null
            ? v switch { JsonNode n when n.GetValueKind() == JsonValueKind.String => n.GetValue<string>(), JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(), string s => s, _ => v.ToString() }
            : null;
        int? Int(string key) => int.TryParse(Str(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null;
        switch (name)
        {
            case "submit":
                return ("submitted", false, true, false);
            case "bash":
                {
                    var command = Str("command");
                    if (string.IsNullOrWhiteSpace(command))
                    {
                        return ("error: bash needs a command", true, false, false);
                    }
                    var remaining = context.Task.Budget.Wall - elapsed();
                    var timeout = TimeSpan.FromSeconds(Math.Max(1, Math.Min(cfg.CommandTimeoutSeconds, remaining.TotalSeconds)));
                    var r = await Sandbox.RunAsync(context.Runner, context.Spec(withOutput: false), ["bash", "-c", command], timeout, context.Config.Image, maxCapturedChars: 4 * max, cancellationToken: ct).ConfigureAwait(false);
                    var text = r.StandardOutput + r.StandardError;
                    var head = r.TimedOut ? $"(killed after {timeout.TotalSeconds:F0} s)\n" : $"exit code {r.ExitCode}\n";
                    return (head + Truncate(text, max), false, false, false);
                }
            case "view_file":
                {
                    var path = Resolve(context.Layout.Tree, Str("path"));
                    if (path is null || !File.Exists(path))
                    {
                        return ($"error: no file {Str("path")} in the tree", false, false, false);
                    }
                    if (ReadToolFile(path) is not { } text)
                    {
                        return ($"error: {Str("path")} is not a regular file of at most {MaxToolFileBytes} bytes", false, false, false);
                    }
                    var lines = text.Split('\n');
                    if (lines.Length > 0 && lines[^1].Length == 0)
                    {
                        lines = lines[..^1];
                    }
                    var from = Math.Max(1, Int("start_line") ?? 1);
                    var to = Math.Min(lines.Length, Int("end_line") is { } e && e > 0 ? e : lines.Length);
                    var sb = new StringBuilder();
                    for (var i = from; i <= to; i++)
                    {
                        sb.Append(i.ToString(CultureInfo.InvariantCulture).PadLeft(6)).Append('\t').Append(lines[i - 1]).Append('\n');
                    }
                    return (Truncate(sb.ToString(), max), false, false, false);
                }
            case "edit_file":
                {
                    var path = Resolve(context.Layout.Tree, Str("path"));
                    var oldStr = Str("old_str");
                    var newStr = Str("new_str") ?? "";
                    if (path is null || !File.Exists(path))
                    {
                        return ($"error: no file {Str("path")} in the tree", false, false, false);
                    }
                    if (string.IsNullOrEmpty(oldStr))
                    {
                        return ("error: old_str is empty", true, false, false);
                    }
                    if (ReadToolFile(path) is not { } content)
                    {
                        return ($"error: {Str("path")} is not a regular file of at most {MaxToolFileBytes} bytes", false, false, false);
                    }
                    var first = content.IndexOf(oldStr, StringComparison.Ordinal);
                    if (first < 0)
                    {
                        return ("error: old_str not found", false, false, false);
                    }
                    if (content.IndexOf(oldStr, first + 1, StringComparison.Ordinal) >= 0)
                    {
                        return ("error: old_str occurs more than once; include more context", false, false, false);
                    }
                    File.WriteAllText(path, string.Concat(content.AsSpan(0, first), newStr, content.AsSpan(first + oldStr.Length)));
                    return ($"edited {Path.GetRelativePath(HostFiles.RealPath(context.Layout.Tree) ?? context.Layout.Tree, path)}", false, false, false);
                }
            case "run_kernel" when context.Task.Stateful && context.Kernel is not null:
                {
                    if (runKernelCalls >= context.Task.Budget.RunKernelCalls)
                    {
                        return ($"error: run_kernel may be called at most {context.Task.Budget.RunKernelCalls} times", false, false, false);
                    }
                    var diff = await SnapshotTree.DiffAsync(context.Layout.Tree, context.Layout.BaseGitDir, ct).ConfigureAwait(false);
                    var verdict = await context.Kernel.RunKernelAsync(context.Task.BugId, context.Layout.Tree, diff, ct).ConfigureAwait(false);
                    return (Truncate(verdict, max), false, false, true);
                }
            case "run_kernel":
                return ("Stateful edit is not allowed in the current environment.", false, false, false);
            default:
                return ($"error: unknown tool '{name}'; available: bash, view_file, edit_file, submit" + (context.Task.Stateful ? ", run_kernel" : ""), true, false, false);
        }
    }

    /// <summary>Largest file view_file/edit_file work on (bytes).</summary>
    public const long MaxToolFileBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Resolves a tree-relative (or absolute inside the tree) path with every symbolic link of every component followed
    /// (<see cref="HostFiles.ResolveInside"/>); null when the real path leaves the tree or does not exist. The result has no
    /// links left, and no agent process runs while a file tool runs (bash commands end with their sandbox), so the
    /// checked path is the one opened.
    /// </summary>
    internal static string? Resolve(string tree, string? path) => HostFiles.ResolveInside(tree, path);

    private static string? ReadToolFile(string realPath)
    {
        try
        {
            return HostFiles.ReadText(realPath, MaxToolFileBytes);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Keeps the head and tail of <paramref name="text"/> when longer than <paramref name="max"/> characters.</summary>
    public static string Truncate(string text, int max)
    {
        if (max <= 0 || text.Length <= max)
        {
            return text;
        }
        var half = max / 2;
        return text[..half] + $"\n[... {text.Length - 2 * half} characters elided ...]\n" + text[^half..];
    }

    private static void WriteTraj(KenvLayout layout, JsonObject traj, double cost, int steps, int malformed, ExitReason? exit)
    {
        traj["dollarCost"] = cost;
        traj["stepCount"] = steps;
        traj["malformedReplies"] = malformed;
        traj["exitReason"] = exit is { } e ? Kenv.ExitReasonText(e) : null;
        AgentHarness.WriteJson(layout.Output(Kenv.TrajectoryFile), traj);
    }
}
