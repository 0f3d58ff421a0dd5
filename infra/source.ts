// Function source bundles: hashes a bundle folder made by `npm run build:functions` and uploads it as a
// zip named after its content, so a changed bundle (and only that) rebuilds its functions.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

/** sha256 over every file's relative path and bytes, in a stable order. */
export function hashDir(dir: string): string {
  if (!existsSync(join(dir, 'package.json'))) {
    throw new Error(`function bundle ${dir} is missing: run \`npm run build:functions\` first`);
  }
  const h = createHash('sha256');
  const walk = (d: string): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  for (const f of walk(dir)) {
    h.update(relative(dir, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex');
}

export function uploadBundle(
  name: string,
  args: { bucket: pulumi.Input<string>; dir: string },
  opts: pulumi.CustomResourceOptions,
): gcp.storage.BucketObject {
  const hash = hashDir(args.dir).slice(0, 16);
  return new gcp.storage.BucketObject(
    name,
    { bucket: args.bucket, name: `${name}-${hash}.zip`, source: new pulumi.asset.FileArchive(args.dir) },
    opts,
  );
}
