/** Output for humans (aligned tables, a live progress line on a terminal) or machines (--json). */

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === undefined || r[c] === null ? '' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** Progress of a Job: rewrites one line on a terminal, prints a line per change otherwise. */
export class Progress {
  private last = '';
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}
  update(text: string): void {
    if (text === this.last) return;
    this.last = text;
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${text}`);
    else this.out.write(text + '\n');
  }
  done(): void { if (this.out.isTTY && this.last) this.out.write('\n'); }
}
