'use strict';
// Answering a manual intervention. The client has no interruption repository, so this is
// what a user's pipeline script does with the client's generic request methods (the flow of
// OctopusDeploy-Api `REST/PowerShell/ManualInterventions/ApproveOrAbort.ps1`): find the
// pending interruption of the task, take responsibility, submit the answer. The routes are
// in the 2020.5 Swagger spec, so both profiles serve them.

const test = require('node:test');
const { setTimeout: sleep } = require('node:timers/promises');
const assert = require('node:assert/strict');
const {
  DeploymentRepository,
  ReleaseRepository,
  SpaceServerTaskRepository,
} = require('@octopusdeploy/api-client');
const { SPACE, standinAndClient } = require('../lib/standin');
const {
  TASK_LIMIT_MS,
  buildScenario,
  classicDeploy,
  classicRelease,
  pushPackage,
  waitForTask,
} = require('../lib/scenario');

/** Starts a deployment to Production (whose manual step asks); resolves to its task id. */
async function deployToProduction(t, profile) {
  const { client } = await standinAndClient(t, { profile });
  const s = await buildScenario(client);
  await pushPackage(t, client, '3.0.0');
  if (profile === '2020.5') {
    const release = await classicRelease(s.api, s.project, '3.0.0');
    const deployment = await classicDeploy(s.api, release, s.production);
    return { client, s, taskId: deployment.TaskId };
  }
  await new ReleaseRepository(client, SPACE).create({
    spaceName: SPACE,
    ProjectName: 'Web Shop',
    ReleaseVersion: '3.0.0',
    Packages: ['Deploy web:3.0.0'],
  });
  const response = await new DeploymentRepository(client, SPACE).create({
    spaceName: SPACE,
    ProjectName: 'Web Shop',
    ReleaseVersion: '3.0.0',
    EnvironmentNames: ['Production'],
  });
  return { client, s, taskId: response.DeploymentServerTasks[0].ServerTaskId };
}

/** The task's pending interruption, polled for as a script would. */
async function pendingInterruption(s, taskId) {
  const deadline = Date.now() + TASK_LIMIT_MS;
  for (;;) {
    const page = await s.api.get('interruptions{?regarding,pendingOnly}', {
      regarding: taskId,
      pendingOnly: true,
    });
    if (page.Items.length > 0) return page.Items[0];
    if (Date.now() > deadline) throw new Error(`task ${taskId} raised no interruption`);
    await sleep(100);
  }
}

for (const profile of ['2025', '2020.5']) {
  test(`answers a manual intervention: Proceed (${profile})`, async (t) => {
    const { client, s, taskId } = await deployToProduction(t, profile);
    const interruption = await pendingInterruption(s, taskId);
    assert.equal(interruption.IsPending, true);
    assert.equal(interruption.TaskId, taskId);
    assert.match(JSON.stringify(interruption.Form), /Check the shop, then proceed\./);
    const tasks = new SpaceServerTaskRepository(client, SPACE);
    assert.equal((await tasks.getById(taskId)).IsCompleted, false);

    // Nobody is responsible yet; submitting before taking responsibility is refused.
    assert.equal(await s.api.get(`interruptions/${interruption.Id}/responsible`), null);
    await assert.rejects(
      s.api.post(`interruptions/${interruption.Id}/submit`, { Result: 'Proceed' }),
      (err) => err.StatusCode === 400 && /take responsibility/.test(err.message),
    );
    const user = await s.api.put(`interruptions/${interruption.Id}/responsible`, {});
    assert.equal(user.Id, 'Users-1');
    assert.equal((await s.api.get(`interruptions/${interruption.Id}/responsible`)).Id, 'Users-1');

    // A value the form does not offer is refused with Octopus's form error.
    await assert.rejects(
      s.api.post(`interruptions/${interruption.Id}/submit`, { Result: 'Maybe' }),
      (err) => err.StatusCode === 400 && /Result must be Proceed or Abort/.test(err.message),
    );
    const answered = await s.api.post(`interruptions/${interruption.Id}/submit`, {
      Result: 'Proceed',
      Notes: 'Shop checked by the pipeline.',
    });
    assert.equal(answered.IsPending, false);
    assert.equal(answered.Form.Values.Result, 'Proceed');

    const task = await waitForTask(client, taskId);
    assert.equal(task.State, 'Success');
    const raw = await tasks.getRaw(taskId);
    assert.ok(raw.includes('Deploying Web Shop 3.0.0 to Production'), raw);
    // Answered once: a second answer is refused.
    await assert.rejects(
      s.api.post(`interruptions/${interruption.Id}/submit`, { Result: 'Abort' }),
      (err) => err.StatusCode === 400,
    );
  });

  test(`answers a manual intervention: Abort fails the task (${profile})`, async (t) => {
    const { client, s, taskId } = await deployToProduction(t, profile);
    const interruption = await pendingInterruption(s, taskId);
    await s.api.put(`interruptions/${interruption.Id}/responsible`, {});
    await s.api.post(`interruptions/${interruption.Id}/submit`, {
      Result: 'Abort',
      Notes: 'Not today.',
    });
    const task = await waitForTask(client, taskId);
    assert.equal(task.State, 'Failed');
    assert.equal(task.FinishedSuccessfully, false);
    const raw = await new SpaceServerTaskRepository(client, SPACE).getRaw(taskId);
    // The steps after the manual one do not run: Production never hears the script.
    assert.ok(!raw.includes('Deploying Web Shop 3.0.0 to Production'), raw);
  });
}
