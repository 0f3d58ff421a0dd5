// Loaded with `--import` by `npm run bench:api -- --profile DIR` into each API process: a V8 CPU profile from start
// to exit, written to DIR (NODE_OPTIONS may not carry --cpu-prof itself). Open it in Chrome DevTools or speedscope.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.HTBASE_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // The in-thread inspector session answers synchronously, so the profile can be written from 'exit'.
  process.once('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `api-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
