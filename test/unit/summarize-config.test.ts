// functions/summarize configuration: which summarizer the environment selects, and start-up refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SummarizerEnv, createSummarizers, geminiMode, loadSummarizeConfig } from '../../functions/summarize/config.ts';
import { silentLogger } from '../../shared/core/logger.ts';

const env = (e: Record<string, string>) => SummarizerEnv.parse(e);

test('no credentials: the extractive summarizer, no fallback', () => {
  const s = createSummarizers(env({}), silentLogger());
  assert.equal(s.mode, 'off');
  assert.equal(s.summarizer.provider, 'extractive');
  assert.equal(s.fallback, undefined);
});

test('an API key selects Gemini in api-key mode with the extractive fallback by default', () => {
  const s = createSummarizers(env({ GEMINI_API_KEY: 'k' }), silentLogger());
  assert.equal(s.mode, 'api-key');
  assert.equal(s.summarizer.provider, 'gemini');
  assert.equal(s.fallback?.provider, 'extractive');
  assert.equal(
    createSummarizers(env({ GEMINI_API_KEY: 'k', SUMMARY_FALLBACK: 'none' }), silentLogger()).fallback,
    undefined,
  );
});

test('vertex mode needs a project; api-key mode needs a key; GEMINI_MODE=off wins over a key', () => {
  assert.throws(() => geminiMode(env({ GEMINI_MODE: 'vertex' })), /GOOGLE_CLOUD_PROJECT/);
  assert.throws(() => geminiMode(env({ GEMINI_MODE: 'api-key' })), /GEMINI_API_KEY/);
  assert.equal(geminiMode(env({ GEMINI_MODE: 'vertex', GOOGLE_CLOUD_PROJECT: 'p' })), 'vertex');
  assert.equal(geminiMode(env({ GEMINI_MODE: 'off', GEMINI_API_KEY: 'k' })), 'off');
  assert.throws(() => env({ GEMINI_THINKING_BUDGET: 'lots' }));
  assert.equal(env({ GEMINI_THINKING_BUDGET: '0' }).GEMINI_THINKING_BUDGET, 0);
});

test('the deployable config requires the task URL and a project', () => {
  assert.throws(() => loadSummarizeConfig({ GOOGLE_CLOUD_PROJECT: 'p' }), /SUMMARY_TASK_URL/);
  const required = { GOOGLE_CLOUD_PROJECT: 'p', SUMMARY_TASK_URL: 'https://summarize-task.example/' };
  assert.throws(() => loadSummarizeConfig(required), /ARTIFACTS_BUCKET/);
  const cfg = loadSummarizeConfig({ ...required, ARTIFACTS_BUCKET: 'b' });
  assert.equal(cfg.CLOUD_TASKS_QUEUE, 'summaries');
  assert.equal(cfg.GEMINI_MODEL, 'gemini-2.5-flash');
  assert.equal(cfg.GEMINI_TOKEN_BUDGET, 100_000);
});
