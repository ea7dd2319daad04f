'use strict';
// The heart of a pipeline: create a release, deploy it (untenanted and for a tenant), wait
// for the task and read its log. On a current server through the executions API
// (`releases/create/v1`, `deployments/create/{untenanted,tenanted}/v1`); waiting and logs
// (`tasks?ids=`, `tasks/{id}/details`, `tasks/{id}/raw`) on both profiles.

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  DeploymentRepository,
  ReleaseRepository,
  SpaceServerTaskRepository,
} = require('@octopusdeploy/api-client');
const { SPACE, standinAndClient } = require('../lib/standin');
const {
  buildScenario,
  classicDeploy,
  classicRelease,
  onlySucceededTask,
  pushPackage,
  waitForTask,
} = require('../lib/scenario');

/** A scenario on a current server with WebShop `version` pushed and released. */
async function released(t, version) {
  const { client } = await standinAndClient(t, { profile: '2025' });
  const s = await buildScenario(client);
  await pushPackage(t, client, version);
  const created = await new ReleaseRepository(client, SPACE).create({
    spaceName: SPACE,
    ProjectName: 'Web Shop',
    ReleaseVersion: version,
    Packages: [`Deploy web:${version}`],
    ReleaseNotes: `Web Shop ${version}, from the pipeline.`,
  });
  return { client, s, created };
}

/** Checks a finished deployment task's state, details and raw log. */
async function checkDeploymentLog(client, taskId, version, environment) {
  const tasks = new SpaceServerTaskRepository(client, SPACE);
  const details = await tasks.getDetails(taskId);
  assert.equal(details.Task.Id, taskId);
  assert.equal(details.Task.State, 'Success');
  const names = JSON.stringify(details.ActivityLogs);
  for (const step of ['Deploy web', 'Say what']) assert.ok(names.includes(step), `${step} in ${names}`);
  const raw = await tasks.getRaw(taskId);
  assert.equal(typeof raw, 'string');
  assert.ok(
    raw.includes(`Deploying Web Shop ${version} to ${environment}`),
    `the script's output in the raw log:\n${raw}`,
  );
}

test('creates a release with the executions API (2025)', async (t) => {
  const { client, s, created } = await released(t, '1.0.0');
  assert.match(created.ReleaseId, /^Releases-\d+$/);
  assert.equal(created.ReleaseVersion, '1.0.0');
  const releases = new ReleaseRepository(client, SPACE);
  const release = await releases.get(created.ReleaseId);
  assert.equal(release.Version, '1.0.0');
  assert.equal(release.ProjectId, s.project.Id);
  assert.equal(release.ReleaseNotes, 'Web Shop 1.0.0, from the pipeline.');
  assert.deepEqual(
    release.SelectedPackages.map((p) => [p.ActionName, p.Version]),
    [['Deploy web', '1.0.0']],
  );
  // The same version again: refused, unless the pipeline says it may already exist.
  const again = { spaceName: SPACE, ProjectName: 'Web Shop', ReleaseVersion: '1.0.0', Packages: ['Deploy web:1.0.0'] };
  await assert.rejects(releases.create(again), (err) => err.StatusCode === 400);
  const ignored = await releases.create({ ...again, IgnoreIfAlreadyExists: true });
  assert.equal(ignored.ReleaseId, created.ReleaseId);
});

test('release creation names what it cannot find (2025)', async (t) => {
  const { client } = await standinAndClient(t, { profile: '2025' });
  await buildScenario(client);
  await pushPackage(t, client, '1.0.0');
  const releases = new ReleaseRepository(client, SPACE);
  const base = { spaceName: SPACE, ProjectName: 'Web Shop', ReleaseVersion: '1.0.0' };
  await assert.rejects(releases.create({ ...base, ProjectName: 'No Such Project' }), (err) => {
    assert.ok([400, 404].includes(err.StatusCode), `status ${err.StatusCode}`);
    assert.match(err.message, /No Such Project/);
    return true;
  });
  // A package version that is not in the built-in feed yet is the deployment's problem (it
  // fails acquiring it), as on a server; a step the process does not have is the release's.
  await assert.rejects(releases.create({ ...base, Packages: ['No Such Step:1.0.0'] }), (err) => {
    assert.equal(err.StatusCode, 400);
    assert.match(err.message, /No Such Step:1\.0\.0/);
    return true;
  });
  await assert.rejects(releases.create({ ...base, ChannelName: 'No Such Channel' }), (err) => {
    assert.ok([400, 404].includes(err.StatusCode), `status ${err.StatusCode}`);
    assert.match(err.message, /No Such Channel/);
    return true;
  });
});

test('deploys untenanted, waits for the task and reads its log (2025)', async (t) => {
  const { client, s } = await released(t, '1.1.0');
  const response = await new DeploymentRepository(client, SPACE).create({
    spaceName: SPACE,
    ProjectName: 'Web Shop',
    ReleaseVersion: '1.1.0',
    EnvironmentNames: ['Development'],
  });
  const { DeploymentId, ServerTaskId, task } = await onlySucceededTask(
    client,
    response.DeploymentServerTasks,
  );
  assert.match(DeploymentId, /^Deployments-\d+$/);
  assert.match(ServerTaskId, /^ServerTasks-\d+$/);
  assert.equal(task.FinishedSuccessfully, true);
  const deployment = await new DeploymentRepository(client, SPACE).get(DeploymentId);
  assert.equal(deployment.EnvironmentId, s.development.Id);
  assert.equal(deployment.TaskId, ServerTaskId);
  assert.equal(deployment.TenantId ?? null, null);
  await checkDeploymentLog(client, ServerTaskId, '1.1.0', 'Development');
});

test('deploys for a tenant, waits and reads the log (2025)', async (t) => {
  const { client, s } = await released(t, '1.2.0');
  const deployments = new DeploymentRepository(client, SPACE);
  const response = await deployments.createTenanted({
    spaceName: SPACE,
    ProjectName: 'Web Shop',
    ReleaseVersion: '1.2.0',
    EnvironmentName: 'Development',
    Tenants: ['Acme'],
    TenantTags: [],
  });
  const { DeploymentId, ServerTaskId, task } = await onlySucceededTask(
    client,
    response.DeploymentServerTasks,
  );
  assert.match(task.Description, /for Acme/);
  const deployment = await deployments.get(DeploymentId);
  assert.equal(deployment.TenantId, s.tenant.Id);
  await checkDeploymentLog(client, ServerTaskId, '1.2.0', 'Development');
});

test('deployments name what they cannot find (2025)', async (t) => {
  const { client } = await released(t, '1.3.0');
  const deployments = new DeploymentRepository(client, SPACE);
  const base = { spaceName: SPACE, ProjectName: 'Web Shop', ReleaseVersion: '1.3.0' };
  await assert.rejects(
    deployments.create({ ...base, EnvironmentNames: ['No Such Environment'] }),
    (err) => [400, 404].includes(err.StatusCode) && /No Such Environment/.test(err.message),
  );
  await assert.rejects(
    deployments.create({ ...base, ReleaseVersion: '7.7.7', EnvironmentNames: ['Development'] }),
    (err) => [400, 404].includes(err.StatusCode) && /7\.7\.7/.test(err.message),
  );
  await assert.rejects(
    deployments.createTenanted({ ...base, EnvironmentName: 'Development', Tenants: ['No Such Tenant'], TenantTags: [] }),
    (err) => [400, 404].includes(err.StatusCode) && /No Such Tenant/.test(err.message),
  );
});

for (const profile of ['2025', '2020.5']) {
  test(`waits for a task and reads its log through the routes every server has (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const s = await buildScenario(client);
    await pushPackage(t, client, '2.0.0');
    const release = await classicRelease(s.api, s.project, '2.0.0');
    const deployment = await classicDeploy(s.api, release, s.development, s.tenant);
    const task = await waitForTask(client, deployment.TaskId);
    assert.equal(task.State, 'Success');
    assert.match(task.Description, /Deploy Web Shop release 2\.0\.0 to Development for Acme/);
    await checkDeploymentLog(client, deployment.TaskId, '2.0.0', 'Development');
    // An id the server never issued: the waiter stops with the client's own message.
    await assert.rejects(waitForTask(client, 'ServerTasks-999999'), /Unknown task Id\(s\) ServerTasks-999999/);
  });
}
