// Configuration of the Firestore sync (`--target=sync`) and its reconcile CLI: Postgres to read, the
// Firestore database to write.
import { z } from 'zod';
import { BaseConfig } from '../../shared/core/config.ts';
import { FirestoreEnv } from '../../shared/adapters/deps.ts';

export const SyncConfig = BaseConfig.extend(FirestoreEnv.shape);
export type SyncConfig = z.infer<typeof SyncConfig>;
