'use strict';
// A pipeline's first steps: push the package it built, then its build information. Both
// routes are in the 2020.5 Swagger spec (`packages/raw`, `build-information`), so both
// profiles serve them.

const fs = require('node:fs/promises');
const path = require('node:path');
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  BuildInformationRepository,
  OverwriteMode,
  PackageRepository,
  ReleaseRepository,
} = require('@octopusdeploy/api-client');
const { SPACE, standinAndClient } = require('../lib/standin');
const {
  PACKAGE_ID,
  api,
  buildScenario,
  buildZip,
  classicRelease,
  pushPackage,
} = require('../lib/scenario');

const PROFILES = ['2025', '2020.5'];

/** The build information Octopus's GitHub Action pushes for one build. */
function buildInformation(version) {
  return {
    spaceName: SPACE,
    BuildEnvironment: 'GitHub Actions',
    BuildNumber: '417',
    BuildUrl: 'https://github.com/example/webshop/actions/runs/417',
    Branch: 'refs/heads/main',
    VcsType: 'Git',
    VcsRoot: 'https://github.com/example/webshop',
    VcsCommitNumber: '3f2c9a1e5b7d4c6a8e0f1b2d3c4e5f6a7b8c9d0e',
    Packages: [{ Id: PACKAGE_ID, Version: version }],
    Commits: [
      { Id: '3f2c9a1e5b7d4c6a8e0f1b2d3c4e5f6a7b8c9d0e', Comment: 'Checkout: pay by card' },
      { Id: '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b', Comment: 'Basket: keep items' },
    ],
  };
}

/** The build information stored for WebShop at `version`, or undefined. */
async function storedBuildInformation(client, version) {
  const a = await api(client);
  const page = await a.get('build-information{?packageId,skip,take}', {
    packageId: PACKAGE_ID,
    skip: 0,
    take: 100,
  });
  assert.ok(Array.isArray(page.Items), `a paged collection: ${JSON.stringify(page)}`);
  return page.Items.find((b) => b.PackageId === PACKAGE_ID && b.Version === version);
}

for (const profile of PROFILES) {
  test(`pushes a zip it built into the built-in feed (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    await pushPackage(t, client, '1.0.0');
    await pushPackage(t, client, '1.0.1');
    const repository = new PackageRepository(client, SPACE);
    const listed = await repository.list({ nuGetPackageId: PACKAGE_ID, take: 10 });
    const versions = listed.Items.map((p) => `${p.PackageId}@${p.Version}`).sort();
    assert.deepEqual(versions, [`${PACKAGE_ID}@1.0.0`, `${PACKAGE_ID}@1.0.1`]);
    const one = listed.Items.find((p) => p.Version === '1.0.1');
    assert.equal(one.FileExtension, '.zip');
  });

  test(`refuses the same version twice unless told to overwrite (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const zip = await pushPackage(t, client, '2.0.0');
    const repository = new PackageRepository(client, SPACE);
    // FailIfExists is the client's default; the push reports the server's refusal.
    await assert.rejects(repository.push([zip]), /already exists/i);
    // IgnoreIfExists keeps the stored file; OverwriteExisting replaces it: both succeed.
    await repository.push([zip], OverwriteMode.IgnoreIfExists);
    const other = await buildZip(t, PACKAGE_ID, '2.0.0');
    await repository.push([other], OverwriteMode.OverwriteExisting);
    const listed = await repository.list({ nuGetPackageId: PACKAGE_ID, take: 10 });
    assert.equal(listed.Items.filter((p) => p.Version === '2.0.0').length, 1);
  });

  test(`refuses a file not named <PackageId>.<Version>.<ext> (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const zip = await buildZip(t, PACKAGE_ID, '3.0.0');
    const repository = new PackageRepository(client, SPACE);
    for (const name of [`${PACKAGE_ID}.zip`, `${PACKAGE_ID}.3.0.0.exe`, '.3.0.0.zip']) {
      const renamed = path.join(path.dirname(zip), name);
      await fs.copyFile(zip, renamed);
      await assert.rejects(repository.push([renamed]), (err) => {
        assert.match(err.message, /There was a problem with your request/);
        assert.ok(err.message.includes(`The file name '${name}' is not of the form`), err.message);
        return true;
      });
    }
    const listed = await repository.list({ take: 10 });
    assert.equal(listed.TotalResults, 0);
  });

  test(`pushes build information for the package (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    await pushPackage(t, client, '1.2.0');
    const repository = new BuildInformationRepository(client, SPACE);
    await repository.push(buildInformation('1.2.0'));
    const stored = await storedBuildInformation(client, '1.2.0');
    assert.ok(stored, 'the build information is listed for WebShop 1.2.0');
    assert.equal(stored.Branch, 'refs/heads/main');
    assert.equal(stored.BuildNumber, '417');
    assert.equal(stored.BuildEnvironment, 'GitHub Actions');
    assert.equal(stored.VcsRoot, 'https://github.com/example/webshop');
    assert.deepEqual(
      stored.Commits.map((c) => [c.Id, c.Comment]),
      [
        ['3f2c9a1e5b7d4c6a8e0f1b2d3c4e5f6a7b8c9d0e', 'Checkout: pay by card'],
        ['1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b', 'Basket: keep items'],
      ],
    );
  });

  test(`the package and a release of it show its build information (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const s = await buildScenario(client);
    await pushPackage(t, client, '1.4.0');
    await new BuildInformationRepository(client, SPACE).push(buildInformation('1.4.0'));
    // The package (PackageResource.PackageVersionBuildInformation in the Swagger spec).
    const repository = new PackageRepository(client, SPACE);
    const listed = await repository.list({ nuGetPackageId: PACKAGE_ID, take: 10 });
    const pkg = await repository.get(listed.Items.find((p) => p.Version === '1.4.0').Id);
    assert.equal(pkg.PackageVersionBuildInformation?.BuildNumber, '417', JSON.stringify(pkg));
    assert.equal(pkg.PackageVersionBuildInformation?.Branch, 'refs/heads/main');
    // A release that selects it (ReleaseResource.BuildInformation).
    const release = await classicRelease(s.api, s.project, '1.4.0');
    const shown = await new ReleaseRepository(client, SPACE).get(release.Id);
    assert.ok(Array.isArray(shown.BuildInformation), JSON.stringify(shown));
    assert.deepEqual(
      shown.BuildInformation.map((b) => [b.PackageId, b.Version, b.BuildNumber, b.VcsRoot]),
      [[PACKAGE_ID, '1.4.0', '417', 'https://github.com/example/webshop']],
    );
    assert.deepEqual(
      shown.BuildInformation[0].Commits.map((c) => c.Comment),
      ['Checkout: pay by card', 'Basket: keep items'],
    );
  });

  test(`build information for an existing version: refused, then overwritten (${profile})`, async (t) => {
    const { client } = await standinAndClient(t, { profile });
    const repository = new BuildInformationRepository(client, SPACE);
    await repository.push(buildInformation('1.3.0'));
    // FailIfExists, the client's default: the server's refusal (400/409 in the Swagger spec)
    // comes back as the push's error, and the stored build information is unchanged.
    await assert.rejects(
      repository.push({ ...buildInformation('1.3.0'), BuildNumber: '999' }),
      // The client wraps the server's error in a plain Error (no StatusCode): its text is
      // what is left to check.
      (err) => /Package ID and version already exists/.test(String(err.message)),
    );
    assert.equal((await storedBuildInformation(client, '1.3.0')).BuildNumber, '417');
    const changed = { ...buildInformation('1.3.0'), BuildNumber: '418' };
    await repository.push(changed, OverwriteMode.OverwriteExisting);
    assert.equal((await storedBuildInformation(client, '1.3.0')).BuildNumber, '418');
    await repository.push({ ...changed, BuildNumber: '419' }, OverwriteMode.IgnoreIfExists);
    assert.equal((await storedBuildInformation(client, '1.3.0')).BuildNumber, '418');
  });
}
