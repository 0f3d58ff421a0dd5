// Pulumi entry point: reads the typed stack config and builds the deployment (everything lives in stack.ts
// so the mocked tests can build it without this file). Stack outputs are the exports below.
import * as pulumi from '@pulumi/pulumi';
import { loadStackConfig } from './config.ts';
import { createStack } from './stack.ts';

const cfg = loadStackConfig();
const out = createStack(cfg, { geminiApiKey: new pulumi.Config('htbase').getSecret('geminiApiKey') });

export const apiUrl = out.apiUrl;
export const artifactsBucket = out.artifactsBucket;
export const topics = out.topics;
export const browserUrl = out.browserUrl;
export const monolithUrl = out.monolithUrl;
export const syncUrl = out.syncUrl;
export const summaryTaskUrl = out.summaryTaskUrl;
export const tasksQueue = out.tasksQueue;
export const databaseInstance = out.databaseInstance;
export const imagesRepository = out.imagesRepository;
export const serviceAccounts = out.serviceAccounts;
