// The ordered list of migrations. Append new files; never edit one that has landed.
import type { Migration } from 'kysely';
import * as m0001 from './0001_init.ts';
import * as m0002 from './0002_summary_failures.ts';
import * as m0003 from './0003_rate_limits.ts';
import * as m0004 from './0004_owners.ts';
import * as m0005 from './0005_search.ts';
import * as m0006 from './0006_capture_role.ts';
import * as m0007 from './0007_library.ts';
import * as m0008 from './0008_imports.ts';
import * as m0010 from './0010_cookies_uploads.ts';
import * as m0011 from './0011_rate_limit_hits.ts';

export const migrations: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_summary_failures': m0002,
  '0003_rate_limits': m0003,
  '0004_owners': m0004,
  '0005_search': m0005,
  '0006_capture_role': m0006,
  '0007_library': m0007,
  '0008_imports': m0008,
  '0010_cookies_uploads': m0010,
  '0011_rate_limit_hits': m0011,
};
