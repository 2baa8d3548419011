using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Spillway.Client;

namespace Spillway.Cli.Commands;

/// <summary>
/// The progress of <c>spillway export</c>: a live table (windows, job states, bytes, rows, rate) on an interactive
/// terminal, or one line per change of a window's phase otherwise (logs, pipes, tests).
/// </summary>
internal sealed class ExportDisplay : IProgress<ExtractionProgress>
{
    private const int MaxRows = 12;

    private readonly IAnsiConsole _console;
    private readonly bool _live;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, WindowView> _windows = [];
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private ExtractionProgress? _last;
    private string? _note;

    public ExportDisplay(IAnsiConsole console, bool live)
    {
        _console = console;
        _live = live;
    }

    public TimeSpan Elapsed => _watch.Elapsed;

    public void Report(ExtractionProgress value)
    {
        bool changed;
        lock (_gate)
        {
            _last = value;
            if (!_windows.TryGetValue(value.Window.Index, out var view))
            {
                view = new WindowView(value.Window);
                _windows[value.Window.Index] = view;
            }

            changed = view.Phase != value.Phase;
            view.Phase = value.Phase;
            view.ExportId = value.ExportId ?? view.ExportId;
            view.Bytes = value.WindowBytes;
            view.Message = value.Message;
            view.Updated = _watch.Elapsed;
        }

        if (!_live && changed)
        {
            var detail = value.Message is null ? "" : $" — {value.Message}";
            var job = value.ExportId is null ? "" : $" job {value.ExportId}";
            WriteLine($"{Window(value.Window)} {value.Phase}{job}{detail} [{value.CompletedWindows}/{value.TotalWindows} windows, " +
                      $"{Bytes(value.BytesDownloaded)}, {value.RecordsExported:N0} rows]");
        }
    }

    /// <summary>A retry the client waits out (full queue, rate limit, dropped connection ...).</summary>
    public void Retrying(MarketoRetryEventArgs e)
    {
        var text = $"{e.Operation}: {e.Reason} {e.Message}; retry {e.Attempt} in {e.Delay.TotalSeconds:0.#} s";
        lock (_gate)
        {
            _note = text;
        }

        if (!_live)
        {
            WriteLine("waiting — " + text);
        }
    }

    /// <summary>Runs <paramref name="work"/>, showing the live table while it runs when the display is live.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        if (!_live)
        {
            return await work();
        }

        var task = work();
        await _console.Live(Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).StartAsync(async ctx =>
        {
            while (!task.IsCompleted)
            {
                ctx.UpdateTarget(Render());
                await Task.WhenAny(task, Task.Delay(250));
            }

            ctx.UpdateTarget(Render());
        });
        return await task;
    }

    public IRenderable Render()
    {
        lock (_gate)
        {
            var table = new Table().Border(TableBorder.Rounded).Expand()
                .AddColumn("Window").AddColumn("Job").AddColumn("State").AddColumn(new TableColumn("Bytes").RightAligned()).AddColumn("Note");
            var shown = _windows.Values
                .OrderBy(w => w.Phase is ExtractionPhase.Completed or ExtractionPhase.AlreadyDone ? 1 : 0)
                .ThenByDescending(w => w.Phase is ExtractionPhase.Completed or ExtractionPhase.AlreadyDone ? w.Updated : TimeSpan.Zero)
                .ThenBy(w => w.Window.Index)
                .Take(MaxRows)
                .OrderBy(w => w.Window.Index);
            foreach (var w in shown)
            {
                table.AddRow(
                    new Text(Window(w.Window)),
                    new Text(w.ExportId ?? "—"),
                    new Markup(w.Phase is { } phase ? Phase(phase) : ""),
                    new Text(Bytes(w.Bytes)),
                    new Text(w.Message is { } m ? Shorten(m) : ""));
            }

            var p = _last;
            var seconds = Math.Max(0.001, _watch.Elapsed.TotalSeconds);
            var header = p is null
                ? "Starting…"
                : $"Windows {p.CompletedWindows}/{p.TotalWindows} done, {_windows.Values.Count(w => InFlight(w.Phase))} in flight · {Bytes(p.BytesDownloaded)} · " +
                  $"{p.RecordsExported:N0} rows · {Bytes((long)(p.BytesDownloaded / seconds))}/s · {p.RecordsExported / seconds:N0} rows/s · " +
                  $"{_watch.Elapsed:hh\\:mm\\:ss}";
            table.Title = new TableTitle(header);
            if (_note is not null)
            {
                table.Caption = new TableTitle("last wait: " + Shorten(_note, 100));
            }

            return table;
        }
    }

    public void WriteLine(string text)
    {
        lock (_gate)
        {
            // The raw writer: log lines are not wrapped at the console width.
            _console.Profile.Out.Writer.WriteLine($"[{_watch.Elapsed:hh\\:mm\\:ss}] {text}");
        }
    }

    internal static string Window(ExtractionWindow window) =>
        $"#{window.Index} {window.StartAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} .. " +
        window.EndAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    internal static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.0} MB",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.00} GB",
    };

    private static string Phase(ExtractionPhase phase) => phase switch
    {
        ExtractionPhase.Completed => "[green]Completed[/]",
        ExtractionPhase.AlreadyDone => "[green]Done earlier[/]",
        ExtractionPhase.Failed => "[red]Failed[/]",
        ExtractionPhase.StoppedByQuota => "[red]Quota[/]",
        ExtractionPhase.Retrying => "[yellow]Retrying[/]",
        ExtractionPhase.Downloading => "[blue]Downloading[/]",
        _ => phase.ToString(),
    };

    private static bool InFlight(ExtractionPhase? phase) => phase is ExtractionPhase.Created or ExtractionPhase.Queued
        or ExtractionPhase.Processing or ExtractionPhase.Downloading or ExtractionPhase.Retrying;

    private static string Shorten(string text, int max = 60) => text.Length <= max ? text : text[..max] + "…";

    private sealed class WindowView(ExtractionWindow window)
    {
        public ExtractionWindow Window { get; } = window;

        public ExtractionPhase? Phase { get; set; }

        public string? ExportId { get; set; }

        public long Bytes { get; set; }

        public string? Message { get; set; }

        public TimeSpan Updated { get; set; }
    }
}
