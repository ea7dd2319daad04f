'use strict';
// The look-ups a pipeline does around its flows, through the client's repositories: names to
// resources with `partialName`, `ids` and paging (`skip`, `take`), on routes both profiles
// serve (all in the 2020.5 Swagger spec). And waiting for several tasks at once, which the
// client's waiter asks for as `tasks?ids=A,B`.

const test = require('node:test');
const assert = require('node:assert/strict');
const {
  EnvironmentRepository,
  LifecycleRepository,
  ProjectRepository,
  ServerTaskWaiter,
  SpaceRepository,
  TenantRepository,
} = require('@octopusdeploy/api-client');
const { SPACE, standinAndClient } = require('../lib/standin');
const {
  TASK_LIMIT_MS,
  buildScenario,
  classicDeploy,
  classicRelease,
  pushPackage,
} = require('../lib/scenario');

const names = (page) => page.Items.map((item) => item.Name).sort();

for (const profile of ['2025', '2020.5']) {
  test(`finds projects, environments, tenants and lifecycles by name (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const s = await buildScenario(client);
    await s.api.post('projects', {
      Name: 'Web Admin',
      ProjectGroupId: 'ProjectGroups-1',
      LifecycleId: 'Lifecycles-1',
    });

    const projects = new ProjectRepository(client, SPACE);
    assert.deepEqual(names(await projects.list({ partialName: 'Web' })), ['Web Admin', 'Web Shop']);
    assert.deepEqual(names(await projects.list({ partialName: 'shop' })), ['Web Shop']);
    const none = await projects.list({ partialName: 'Nothing Like It' });
    assert.equal(none.TotalResults, 0);
    assert.deepEqual(none.Items, []);
    assert.deepEqual(names(await projects.list({ ids: [s.project.Id] })), ['Web Shop']);
    assert.equal((await projects.get(s.project.Id)).Name, 'Web Shop');
    // Paging: one at a time, the envelope counting both.
    const first = await projects.list({ skip: 0, take: 1 });
    const second = await projects.list({ skip: 1, take: 1 });
    assert.equal(first.TotalResults, 2);
    assert.equal(first.Items.length, 1);
    assert.equal(second.Items.length, 1);
    assert.notEqual(first.Items[0].Id, second.Items[0].Id);

    const environments = new EnvironmentRepository(client, SPACE);
    assert.deepEqual(names(await environments.list({ partialName: 'Prod' })), ['Production']);
    assert.deepEqual(names(await environments.list({})), ['Development', 'Production']);

    const tenants = new TenantRepository(client, SPACE);
    assert.deepEqual(names(await tenants.list({ projectId: s.project.Id })), ['Acme']);
    assert.deepEqual(names(await tenants.list({ partialName: 'Acm' })), ['Acme']);

    const lifecycles = await new LifecycleRepository(client, SPACE).list({});
    assert.ok(names(lifecycles).includes('Default Lifecycle'), JSON.stringify(names(lifecycles)));

    const spaces = await new SpaceRepository(client).list({ partialName: 'Def' });
    assert.deepEqual(spaces.Items.map((space) => space.Id), ['Spaces-1']);
  });

  test(`waits for several tasks at once (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const s = await buildScenario(client);
    await pushPackage(t, client, '4.0.0');
    const release = await classicRelease(s.api, s.project, '4.0.0');
    const untenanted = await classicDeploy(s.api, release, s.development);
    const tenanted = await classicDeploy(s.api, release, s.development, s.tenant);
    const ids = [untenanted.TaskId, tenanted.TaskId];
    const seen = new Set();
    const tasks = await new ServerTaskWaiter(client, SPACE).waitForServerTasksToComplete(
      ids,
      100,
      TASK_LIMIT_MS,
      (task) => seen.add(task.Id),
    );
    assert.deepEqual(tasks.map((task) => task.Id).sort(), [...ids].sort());
    assert.ok(tasks.every((task) => task.State === 'Success'), JSON.stringify(tasks));
    assert.deepEqual([...seen].sort(), [...ids].sort());
  });
}
