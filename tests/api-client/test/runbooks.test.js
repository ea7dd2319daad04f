'use strict';
// Running a runbook as a pipeline does: the runbook's process set through the client's
// RunbookProcessRepository, a published snapshot (RunbookSnapshotRepository, `?publish`),
// then RunbookRunRepository.create (`runbook-runs/create/v1`, the executions API), the
// task waited for and its log read. The runbook itself is created through
// `POST runbooks` (2020.5 Swagger `RunbookResource`), as the client's RunbookRepository
// creates only version-controlled ones.

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  RunbookProcessRepository,
  RunbookRunRepository,
  RunbookSnapshotRepository,
  SpaceServerTaskRepository,
} = require('@octopusdeploy/api-client');
const { SPACE, standinAndClient } = require('../lib/standin');
const { buildScenario, onlySucceededTask, scriptStep, waitForTask } = require('../lib/scenario');

/** A runbook "Restart shop" of Web Shop with one script step, snapshotted and published. */
async function publishedRunbook(t) {
  const { client } = await standinAndClient(t, { profile: '2025' });
  const s = await buildScenario(client);
  const runbook = await s.api.post('runbooks', {
    Name: 'Restart shop',
    ProjectId: s.project.Id,
    Description: 'Restarts the shop.',
    // Runbooks are untenanted unless they say otherwise; the tenant test runs it for Acme.
    MultiTenancyMode: 'TenantedOrUntenanted',
  });
  assert.match(runbook.Id, /^Runbooks-\d+$/);
  const processes = new RunbookProcessRepository(client, SPACE, s.project);
  const process = await processes.get(runbook);
  assert.equal(process.Id, runbook.RunbookProcessId);
  process.Steps = [
    scriptStep('Restart', 'echo "Restarting #{Octopus.Project.Name} in #{Octopus.Environment.Name}"'),
  ];
  const updated = await processes.update(process);
  assert.deepEqual(updated.Steps.map((step) => step.Name), ['Restart']);
  const snapshot = await new RunbookSnapshotRepository(client, SPACE, s.project).create(
    runbook,
    'Snapshot 1',
    true,
    'From the pipeline.',
  );
  assert.equal(snapshot.RunbookId, runbook.Id);
  assert.equal(snapshot.Name, 'Snapshot 1');
  return { client, s, runbook, snapshot };
}

test('runs a runbook with the executions API, waits and reads the log (2025)', async (t) => {
  const { client, s, runbook, snapshot } = await publishedRunbook(t);
  const runs = new RunbookRunRepository(client, SPACE);
  const response = await runs.create({
    spaceName: SPACE,
    ProjectName: 'Web Shop',
    RunbookName: 'Restart shop',
    EnvironmentNames: ['Development'],
  });
  const { RunbookRunId, ServerTaskId } = await onlySucceededTask(client, response.RunbookRunServerTasks);
  assert.match(RunbookRunId, /^RunbookRuns-\d+$/);
  const run = await runs.get(RunbookRunId);
  assert.equal(run.RunbookId, runbook.Id);
  assert.equal(run.RunbookSnapshotId, snapshot.Id);
  assert.equal(run.EnvironmentId, s.development.Id);
  assert.equal(run.TaskId, ServerTaskId);
  const raw = await new SpaceServerTaskRepository(client, SPACE).getRaw(ServerTaskId);
  assert.ok(raw.includes('Restarting Web Shop in Development'), raw);
});

test('runs a runbook for a tenant (2025)', async (t) => {
  const { client, s } = await publishedRunbook(t);
  const response = await new RunbookRunRepository(client, SPACE).create({
    spaceName: SPACE,
    ProjectName: 'Web Shop',
    RunbookName: 'Restart shop',
    EnvironmentNames: ['Production'],
    Tenants: ['Acme'],
  });
  const { RunbookRunId } = await onlySucceededTask(client, response.RunbookRunServerTasks);
  const run = await new RunbookRunRepository(client, SPACE).get(RunbookRunId);
  assert.equal(run.TenantId, s.tenant.Id);
});

test('runbook runs name what they cannot find (2025)', async (t) => {
  const { client } = await publishedRunbook(t);
  const runs = new RunbookRunRepository(client, SPACE);
  const base = { spaceName: SPACE, ProjectName: 'Web Shop', RunbookName: 'Restart shop', EnvironmentNames: ['Development'] };
  await assert.rejects(
    runs.create({ ...base, RunbookName: 'No Such Runbook' }),
    (err) => [400, 404].includes(err.StatusCode) && /No Such Runbook/.test(err.message),
  );
  await assert.rejects(
    runs.create({ ...base, EnvironmentNames: ['No Such Environment'] }),
    (err) => [400, 404].includes(err.StatusCode) && /No Such Environment/.test(err.message),
  );
});

// A 2020.5 server has no executions API and no project-scoped runbook routes, so a script
// against it runs a runbook through the routes of the 2020.5 Swagger (`runbookProcesses`,
// `runbookSnapshots?publish`, `runbookRuns`) with the client's generic requests.
test('runs a runbook through the classic routes, waits and reads the log (2020.5)', async (t) => {
  const { client } = await standinAndClient(t, { profile: '2020.5' });
  const s = await buildScenario(client);
  const runbook = await s.api.post('runbooks', { Name: 'Restart shop', ProjectId: s.project.Id });
  const processPath = `runbookProcesses/${runbook.RunbookProcessId}`;
  const process = await s.api.get(processPath);
  process.Steps = [scriptStep('Restart', 'echo "Classic restart in #{Octopus.Environment.Name}"')];
  await s.api.put(processPath, process);
  const snapshot = await s.api.post(
    'runbookSnapshots{?publish}',
    { ProjectId: s.project.Id, RunbookId: runbook.Id, Name: 'Snapshot 1' },
    { publish: true },
  );
  assert.equal((await s.api.get(`runbooks/${runbook.Id}`)).PublishedRunbookSnapshotId, snapshot.Id);
  const run = await s.api.post('runbookRuns', {
    RunbookId: runbook.Id,
    RunbookSnapshotId: snapshot.Id,
    EnvironmentId: s.development.Id,
  });
  assert.match(run.Id, /^RunbookRuns-\d+$/);
  assert.equal((await waitForTask(client, run.TaskId)).State, 'Success');
  const raw = await new SpaceServerTaskRepository(client, SPACE).getRaw(run.TaskId);
  assert.ok(raw.includes('Classic restart in Development'), raw);
  // The executions form is not there: the 404 of a route an old server lacks.
  await assert.rejects(
    s.api.post('runbook-runs/create/v1', {
      ProjectName: 'Web Shop',
      RunbookName: 'Restart shop',
      EnvironmentNames: ['Development'],
    }),
    (err) => err.StatusCode === 404,
  );
});
