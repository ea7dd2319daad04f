'use strict';
// What a pipeline reads around its flows: who it is (`users/me`, in the 2020.5 Swagger
// spec), the project's deployment process (`projects/{id}/deploymentprocesses`, newer than
// 2020.5) and a release by version (`projects/{id}/releases?searchByVersion=`).

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  DeploymentProcessRepository,
  ReleaseRepository,
  userGetCurrent,
} = require('@octopusdeploy/api-client');
const { SPACE, standinAndClient } = require('../lib/standin');
const { buildScenario, classicRelease, pushPackage } = require('../lib/scenario');

for (const profile of ['2025', '2020.5']) {
  test(`reads the current user (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const me = await userGetCurrent(client);
    assert.equal(me.Id, 'Users-1');
    assert.equal(me.Username, 'admin');
    assert.equal(me.IsActive, true);
  });
}

test("reads and changes a project's deployment process (2025)", async (t) => {
  const { client } = await standinAndClient(t, { profile: '2025' });
  const s = await buildScenario(client);
  const processes = new DeploymentProcessRepository(client, SPACE);
  const process = await processes.get(s.project);
  assert.equal(process.Id, s.project.DeploymentProcessId);
  assert.equal(process.ProjectId, s.project.Id);
  assert.deepEqual(process.Steps.map((step) => step.Name), ['Deploy web', 'Approve', 'Say what']);
  process.Steps = process.Steps.filter((step) => step.Name !== 'Approve');
  const updated = await processes.update(s.project, process);
  assert.deepEqual(updated.Steps.map((step) => step.Name), ['Deploy web', 'Say what']);
  assert.equal(updated.Version, process.Version + 1);
  // The classic route sees the same process.
  const classic = await s.api.get(`deploymentprocesses/${s.project.DeploymentProcessId}`);
  assert.deepEqual(classic.Steps.map((step) => step.Name), ['Deploy web', 'Say what']);
});

test('projects/{id}/deploymentprocesses is not served by 2020.5 (404)', async (t) => {
  const { client } = await standinAndClient(t, { profile: '2020.5' });
  const s = await buildScenario(client);
  await assert.rejects(new DeploymentProcessRepository(client, SPACE).get(s.project), (err) => err.StatusCode === 404);
});

test('finds a release by version (searchByVersion) (2025)', async (t) => {
  const { client } = await standinAndClient(t, { profile: '2025' });
  const s = await buildScenario(client);
  for (const version of ['1.0.0', '1.1.0', '1.10.0']) {
    await pushPackage(t, client, version);
    await classicRelease(s.api, s.project, version);
  }
  const releases = new ReleaseRepository(client, SPACE);
  const all = await releases.listForProject(s.project.Id);
  assert.equal(all.TotalResults, 3);
  const exact = await releases.listForProject(s.project.Id, { searchByVersion: '1.1.0' });
  assert.deepEqual(exact.Items.map((r) => r.Version), ['1.1.0']);
  const partial = await releases.listForProject(s.project.Id, { searchByVersion: '1.1' });
  assert.deepEqual(partial.Items.map((r) => r.Version).sort(), ['1.1.0', '1.10.0']);
  const none = await releases.listForProject(s.project.Id, { searchByVersion: '9.9' });
  assert.equal(none.TotalResults, 0);
  assert.deepEqual(none.Items, []);
});
