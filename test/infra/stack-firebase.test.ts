// Mocked deployment with the Firebase web settings: the API function gets the project for Firebase ID tokens
// and the web sign-in settings, and its config accepts them (the Sign in with Google button is then offered).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { PROJECT } from './mock-cloud.ts';
import { cfg, deploy, envOf, fn } from './stack-fixture.ts';
import { firebaseWebSettings } from '../../functions/api/config.ts';

before(async () => {
  cfg.api.firebaseWebApiKey = 'AIza-web-key';
  await deploy();
});

test('the API function verifies Firebase ID tokens of its project and offers Google sign-in', () => {
  const env = envOf(fn('api'));
  assert.equal(env.FIREBASE_PROJECT_ID, PROJECT);
  assert.equal(env.FIREBASE_WEB_API_KEY, 'AIza-web-key');
  assert.equal(env.FIREBASE_AUTH_DOMAIN, undefined, 'the default domain is derived, not set');
  const settings = firebaseWebSettings({
    FIREBASE_WEB_API_KEY: env.FIREBASE_WEB_API_KEY,
    FIREBASE_PROJECT_ID: env.FIREBASE_PROJECT_ID,
  });
  assert.equal(settings?.authDomain, `${PROJECT}.firebaseapp.com`);
});
