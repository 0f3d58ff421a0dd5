// The worker-thread side of bounded text processing: runs one text task (readable extraction, word count,
// PDF text) per message, off the main event loop, so a hostile page can only ever cost this thread.
import { parentPort } from 'node:worker_threads';
import { countWords, extractReadable } from './readable.ts';
import { pdfText } from './probe.ts';
import type { TextTask } from './text-pool.ts';

async function run(task: TextTask): Promise<unknown> {
  switch (task.kind) {
    case 'readable':
      return extractReadable(task.html, task.url);
    case 'words':
      return countWords(task.text);
    case 'pdf':
      return pdfText(Buffer.from(task.bytes));
  }
}

parentPort!.on('message', (msg: { id: number; task: TextTask }) => {
  run(msg.task).then(
    (value) => parentPort!.postMessage({ id: msg.id, ok: true, value }),
    (err: unknown) =>
      parentPort!.postMessage({
        id: msg.id,
        ok: false,
        error: { name: (err as Error)?.name, message: (err as Error)?.message ?? String(err) },
      }),
  );
});
