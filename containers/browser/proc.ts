// Linux /proc readings for the browser's process tree: leak checks (tests, soak) and RSS (benchmarks).
import { readdirSync, readFileSync } from 'node:fs';

const PAGE_SIZE = 4096; // x86-64 and arm64 Linux as deployed

/** [pid, ppid, pgrp] of every live (non-zombie) process visible in /proc. */
function processTable(): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is parenthesised and may contain spaces: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue; // zombies hold no memory; only reaping is left
      out.push([Number(name), Number(fields[1]), Number(fields[2])]);
    } catch {
      // the process exited between readdir and read: not part of any tree any more
    }
  }
  return out;
}

/** `root` and all its descendants that are alive now. */
export function processTree(root: number): number[] {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  if (!table.some(([pid]) => pid === root)) return [];
  const tree: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    tree.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Sum of resident set sizes over the tree, in bytes (shared pages count once per process, as `ps` does). */
export function treeRssBytes(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
      total += resident * PAGE_SIZE;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** Live members of process group `pgid` (puppeteer starts the browser as its own group leader). */
export function processGroup(pgid: number): number[] {
  return processTable()
    .filter(([, , pgrp]) => pgrp === pgid)
    .map(([pid]) => pid);
}
