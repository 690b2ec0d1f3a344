/**
 * `mudsync top`: on a terminal, the live dashboard (src/tui/top/app.tsx) until `q`; with `--once`,
 * `--json` or when stdout or stdin is not a terminal, one snapshot: the dashboard's data model as
 * JSON, or its first screen as text. The source is opened before the screen, so a bad flag or an
 * unreachable daemon is one line and an exit code, as in every command.
 */
import React from "react";
import { DEFAULT_FILTER } from "../../tui/top/filter.ts";
import type { TopSnapshot, TopSource } from "../../tui/top/model.ts";
import type { CommandContext } from "../shared/context.ts";
import { openTopSource, type SourceFlags } from "./open-source.ts";

export interface TopOptions extends SourceFlags {
  once?: boolean;
  /** refresh interval in ms */
  intervalMs?: number;
  /** rows of events per page (default: what fits) */
  limit?: number;
}

/** Rows of events in a one-shot snapshot when no --limit is given. */
const ONCE_LIMIT = 20;

export async function top(opts: TopOptions, ctx: CommandContext): Promise<TopSnapshot | undefined> {
  const source = await openTopSource(opts, ctx, (line) => process.stderr.write(`${line}\n`));
  try {
    const live = !opts.once && !ctx.json && ctx.tty && Boolean(process.stdin.isTTY);
    if (!live) return await snapshotOnce(source, opts.limit ?? ONCE_LIMIT);
    const { render } = await import("ink");
    const { TopApp } = await import("../../tui/top/app.tsx");
    const app = render(React.createElement(TopApp, { source, intervalMs: opts.intervalMs ?? 1000, ...(opts.limit ? { pageSize: opts.limit } : {}) }), {
      exitOnCtrlC: true,
      patchConsole: false,
    });
    await app.waitUntilExit();
    return undefined;
  } finally {
    await source.close();
  }
}

/** One refresh of the first page, with the doctor's findings when the source can run it. */
export async function snapshotOnce(source: TopSource, limit: number): Promise<TopSnapshot> {
  const [s, findings] = await Promise.all([
    source.snapshot({ filter: DEFAULT_FILTER, limit }),
    source.diagnose ? source.diagnose().catch((err: unknown) => ({ at: Date.now(), findings: [], healthy: false, error: err instanceof Error ? err.message : String(err) })) : null,
  ]);
  return { ...s, findings };
}

/** The dashboard's first screen as text (the same views, rendered once). */
export async function renderTop(s: TopSnapshot | undefined): Promise<string> {
  if (!s) return "";
  const { renderToString } = await import("ink");
  const { Dashboard } = await import("../../tui/top/dashboard.tsx");
  const { formatFilter } = await import("../../tui/top/filter.ts");
  return renderToString(
    React.createElement(Dashboard, {
      snapshot: s,
      error: undefined,
      view: "list",
      selected: -1,
      pageNo: 1,
      filterText: formatFilter(DEFAULT_FILTER),
      editing: undefined,
      detail: undefined,
      message: undefined,
      readOnly: s.source.readOnly ? "read-only" : undefined,
      width: 120,
      rows: 40,
    }),
    { columns: 120 },
  );
}
