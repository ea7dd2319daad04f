'use strict';
// What a test sets up before it runs a pipeline's flow, through the stand-in's API: the
// routes every profile serves (those of the 2020.5 Swagger spec), reached through the
// client's generic request methods as a user's script would reach them.

const assert = require('node:assert/strict');
const fs = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const {
  PackageRepository,
  ServerTaskWaiter,
  ZipPackageBuilder,
  resolveSpaceId,
} = require('@octopusdeploy/api-client');
const { SPACE } = require('./standin');

/** The package the scenario's process deploys. */
const PACKAGE_ID = 'WebShop';
/** How long a task may take before a test gives up on it. */
const TASK_LIMIT_MS = 60_000;
/** How often the waiter polls (ServerTaskWaiter's statusCheckSleepCycle). */
const POLL_MS = 100;

/** Everything space-scoped goes through `~/api/{spaceId}/...`, the client's own prefix. */
async function api(client) {
  const spaceId = await resolveSpaceId(client, SPACE);
  const at = (rest) => `~/api/{spaceId}/${rest}`;
  return {
    spaceId,
    get: (rest, args = {}) => client.get(at(rest), { spaceId, ...args }),
    post: (rest, body, args = {}) => client.post(at(rest), body, { spaceId, ...args }),
    put: (rest, body) => client.doUpdate(at(rest), body, { spaceId }),
  };
}

/**
 * The process: a package step (WebShop from the built-in feed), a manual intervention that
 * only Production asks for, and a script that says what it deploys.
 */
function steps(productionId) {
  return [
    {
      Name: 'Deploy web',
      Properties: { 'Octopus.Action.TargetRoles': 'web' },
      Actions: [
        {
          Name: 'Deploy web',
          ActionType: 'Octopus.TentaclePackage',
          Packages: [{ Name: '', PackageId: PACKAGE_ID, FeedId: 'feeds-builtin' }],
          Properties: {
            'Octopus.Action.Package.PackageId': PACKAGE_ID,
            'Octopus.Action.Package.FeedId': 'feeds-builtin',
            'Octopus.Action.Package.DownloadOnTentacle': 'False',
          },
        },
      ],
    },
    {
      Name: 'Approve',
      Actions: [
        {
          Name: 'Approve',
          ActionType: 'Octopus.Manual',
          Environments: [productionId],
          Properties: {
            'Octopus.Action.Manual.Instructions': 'Check the shop, then proceed.',
            'Octopus.Action.Manual.BlockConcurrentDeployments': 'False',
          },
        },
      ],
    },
    scriptStep(
      'Say what',
      'echo "Deploying Web Shop #{Octopus.Release.Number} to #{Octopus.Environment.Name}"',
    ),
  ];
}

/** A step `name` with one action of the same name that runs Bash `body` on the server. */
function scriptStep(name, body) {
  return {
    Name: name,
    Actions: [
      {
        Name: name,
        ActionType: 'Octopus.Script',
        Properties: {
          'Octopus.Action.RunOnServer': 'true',
          'Octopus.Action.Script.ScriptSource': 'Inline',
          'Octopus.Action.Script.Syntax': 'Bash',
          'Octopus.Action.Script.ScriptBody': body,
        },
      },
    ],
  };
}

/**
 * Development and Production, the project Web Shop (tenanted or not) with the process above,
 * and the tenant Acme connected to it in both environments.
 */
async function buildScenario(client) {
  const a = await api(client);
  const development = await a.post('environments', { Name: 'Development' });
  const production = await a.post('environments', { Name: 'Production' });
  const project = await a.post('projects', {
    Name: 'Web Shop',
    ProjectGroupId: 'ProjectGroups-1',
    LifecycleId: 'Lifecycles-1',
    TenantedDeploymentMode: 'TenantedOrUntenanted',
  });
  const processPath = `deploymentprocesses/${project.DeploymentProcessId}`;
  const process = await a.get(processPath);
  process.Steps = steps(production.Id);
  await a.put(processPath, process);
  const tenant = await a.post('tenants', {
    Name: 'Acme',
    ProjectEnvironments: { [project.Id]: [development.Id, production.Id] },
  });
  return { api: a, development, production, project, tenant };
}

/**
 * A zip package built the way a pipeline builds one (the client's ZipPackageBuilder, the
 * `octopus package zip create` of Octopus's GitHub Action), from files written here.
 * Resolves to its full path.
 */
async function buildZip(t, packageId, version) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zb-apiclient-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const content = path.join(dir, 'content');
  await fs.mkdir(path.join(content, 'wwwroot'), { recursive: true });
  await fs.writeFile(path.join(content, 'wwwroot', 'index.html'), `<h1>${packageId} ${version}</h1>\n`);
  await fs.writeFile(path.join(content, 'appsettings.json'), `{"Version": "${version}"}\n`);
  const out = path.join(dir, 'out');
  await fs.mkdir(out);
  const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const name = await new ZipPackageBuilder().pack({
    packageId,
    version,
    basePath: content,
    inputFilePatterns: ['**'],
    outputFolder: out,
    overwrite: true,
    logger: silent,
  });
  return path.join(out, name);
}

/** Builds and pushes WebShop at `version`; resolves to the zip's path. */
async function pushPackage(t, client, version) {
  const zip = await buildZip(t, PACKAGE_ID, version);
  await new PackageRepository(client, SPACE).push([zip]);
  return zip;
}

/** A release through the route every profile has (`POST releases`, as Octopus.Client does). */
async function classicRelease(a, project, version) {
  return a.post('releases', {
    ProjectId: project.Id,
    Version: version,
    SelectedPackages: [{ ActionName: 'Deploy web', PackageReferenceName: '', Version: version }],
  });
}

/** A deployment through the route every profile has (`POST deployments`). */
async function classicDeploy(a, release, environment, tenant) {
  const body = { ReleaseId: release.Id, EnvironmentId: environment.Id };
  if (tenant) body.TenantId = tenant.Id;
  return a.post('deployments', body);
}

/** Waits for a task with the client's own waiter; resolves to the finished task. */
async function waitForTask(client, taskId) {
  const task = await new ServerTaskWaiter(client, SPACE).waitForServerTaskToComplete(
    taskId,
    POLL_MS,
    TASK_LIMIT_MS,
  );
  if (!task || !task.IsCompleted) {
    throw new Error(`task ${taskId} did not finish in ${TASK_LIMIT_MS} ms: ${JSON.stringify(task)}`);
  }
  return task;
}

/**
 * The one entry (`{DeploymentId or RunbookRunId, ServerTaskId}`) of an executions-API answer's
 * task list, checked to be the only one, its task waited for and checked to have succeeded.
 * Resolves to the entry with the finished task as `task`.
 */
async function onlySucceededTask(client, entries) {
  assert.equal(entries.length, 1);
  const entry = entries[0];
  const task = await waitForTask(client, entry.ServerTaskId);
  assert.equal(task.State, 'Success');
  return { ...entry, task };
}

module.exports = {
  PACKAGE_ID,
  TASK_LIMIT_MS,
  api,
  buildScenario,
  buildZip,
  classicDeploy,
  classicRelease,
  onlySucceededTask,
  pushPackage,
  scriptStep,
  waitForTask,
};
