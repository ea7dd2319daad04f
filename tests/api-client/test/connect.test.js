'use strict';
// Connecting: Client.create reads GET /api, and the server version a pipeline's version
// checks see is the one the profile reports.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Client, resolveSpaceId } = require('@octopusdeploy/api-client');
const { SPACE, connect, standinAndClient, startStandin } = require('../lib/standin');

const REPORTED = { 2025: '2025.1.5054', '2020.5': '2020.5.0' };

for (const [profile, version] of Object.entries(REPORTED)) {
  test(`connects and reads the server version (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const info = await client.getServerInformation();
    assert.equal(info.version, version);
    assert.match(info.installationId, /^[0-9a-f-]{36}$/);
    assert.equal(await resolveSpaceId(client, SPACE), 'Spaces-1');
  });
}

test("a wrong API key is refused with 401 and Octopus's text", async (t) => {
  const { url } = await startStandin(t, { profile: '2025' });
  // A wrong key is refused everywhere, the root document included, so connecting fails.
  await assert.rejects(
    Client.create({ instanceURL: url, apiKey: 'API-WRONGKEY', userAgentApp: 'test' }),
    (err) => {
      assert.equal(err.StatusCode, 401);
      assert.match(err.message, /Please provide a valid API key/);
      return true;
    },
  );
  assert.equal((await (await connect(url)).getServerInformation()).version, '2025.1.5054');
});

test('a space name the server does not have is refused by the client', async (t) => {
  const { client } = await standinAndClient(t, { profile: '2025' });
  await assert.rejects(resolveSpaceId(client, 'No Such Space'), /No spaces exist with name 'No Such Space'/);
});
