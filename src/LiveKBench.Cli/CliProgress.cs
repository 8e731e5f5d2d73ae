using LiveKBench.Arena.Stages;
using Spectre.Console;

namespace LiveKBench.Cli;

/// <summary>Progress display for long work: a Spectre.Console bar (stage, item, elapsed, remaining) on a terminal; nothing otherwise.</summary>
internal static class CliProgress
{
    /// <summary>Runs <paramref name="work"/>, showing its progress when <paramref name="interactive"/>.</summary>
    public static async Task<T> RunAsync<T>(string stage, bool interactive, Func<StageProgress, Task<T>> work)
    {
        if (!interactive)
        {
            return await work((_, _, _) => { });
        }
        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(stage), maxValue: 1);
                result = await work((done, total, item) =>
                {
                    task.MaxValue = Math.Max(total, 1);
                    task.Value = done;
                    task.Description = Markup.Escape(item.Length == 0 ? stage : $"{stage}: {item}");
                });
                task.Value = task.MaxValue;
            });
        return result;
    }
}
