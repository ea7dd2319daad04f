'use strict';
// An Octopus Server older than 2022.3.5512 has no executions API: the client refuses to
// create releases, deployments and runbook runs there before sending anything, with its own
// message. And a server that reports a current version but lacks the routes answers 404.

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  DeploymentRepository,
  ReleaseRepository,
  RunbookRunRepository,
} = require('@octopusdeploy/api-client');
const { SPACE, standinAndClient } = require('../lib/standin');

const UPGRADE = /it will need to be upgraded to at least 2022\.3\.5512 in order to access this API/;

/**
 * Runs `fn` while counting the requests the client sent, as the answers it got (the client
 * reports every response and every error response; it never reports a request itself).
 */
async function counting(client, fn) {
  let sent = 0;
  const name = `count-${Math.random()}`;
  const count = () => {
    sent += 1;
  };
  const offResponses = client.subscribeToResponses(name, count);
  const offErrors = client.subscribeToErrors(name, count);
  try {
    await fn();
  } finally {
    for (const off of [offResponses, offErrors]) if (typeof off === 'function') off();
  }
  return sent;
}

const FLOWS = {
  'creating a release': (client) =>
    new ReleaseRepository(client, SPACE).create({ spaceName: SPACE, ProjectName: 'Web Shop', ReleaseVersion: '1.0.0' }),
  'deploying a release': (client) =>
    new DeploymentRepository(client, SPACE).create({
      spaceName: SPACE,
      ProjectName: 'Web Shop',
      ReleaseVersion: '1.0.0',
      EnvironmentNames: ['Development'],
    }),
  'deploying a release for a tenant': (client) =>
    new DeploymentRepository(client, SPACE).createTenanted({
      spaceName: SPACE,
      ProjectName: 'Web Shop',
      ReleaseVersion: '1.0.0',
      EnvironmentName: 'Development',
      Tenants: ['Acme'],
      TenantTags: [],
    }),
  'running a runbook': (client) =>
    new RunbookRunRepository(client, SPACE).create({
      spaceName: SPACE,
      ProjectName: 'Web Shop',
      RunbookName: 'Restart shop',
      EnvironmentNames: ['Development'],
    }),
};

for (const [flow, run] of Object.entries(FLOWS)) {
  test(`2020.5: the client refuses ${flow} as it refuses an old server`, async (t) => {
    const { client } = await standinAndClient(t, { profile: '2020.5' });
    const sent = await counting(client, () => assert.rejects(run(client), UPGRADE));
    assert.equal(sent, 0, 'nothing was sent');
  });

  test(`2020.5 reporting a current version: ${flow} gets the 404 of a missing route`, async (t) => {
    const { client } = await standinAndClient(t, {
      profile: '2020.5',
      extraArgs: ['--server-version', '2025.1.5054'],
    });
    const sent = await counting(client, () =>
      assert.rejects(run(client), (err) => {
        assert.equal(err.StatusCode, 404);
        assert.match(err.message, /The resource you requested was not found/);
        return true;
      }),
    );
    // The client believed the version and sent its request: the count sees its answer.
    assert.ok(sent >= 1, `requests sent: ${sent}`);
  });
}
