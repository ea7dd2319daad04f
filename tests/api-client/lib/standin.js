'use strict';
// Starts one octopus-standin for one test and connects Octopus's own client to it.
//
// Each test gets its own stand-in (`--listen 127.0.0.1:0`, the URL read from its first line
// of output), so tests share no state and a failure names one flow. The binary is
// target/debug/octopus-standin of this checkout (run.sh builds it), or OCTOPUS_STANDIN_BIN.

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { Client } = require('@octopusdeploy/api-client');

/** The top of the checkout. */
const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The stand-in binary these tests drive. */
const BINARY =
  process.env.OCTOPUS_STANDIN_BIN || path.join(ROOT, 'target', 'debug', 'octopus-standin');
/** The one API key the stand-in accepts here. */
const API_KEY = 'API-ZONEBRIDGEAPICLIENTTESTS01';
/** The stand-in's only space, as a pipeline names it. */
const SPACE = 'Default';
/** How long the stand-in may take to print its URL. */
const START_LIMIT_MS = 30_000;

/** A seed file under octopus-standin/seeds. */
function seed(name) {
  return path.join(ROOT, 'octopus-standin', 'seeds', name);
}

/**
 * Starts a stand-in behaving as `profile` ('2025' or '2020.5'), optionally seeded, and
 * registers its end with the test (`t.after`). Resolves to `{ url, stop }`.
 */
async function startStandin(t, { profile, seedFile, extraArgs = [] }) {
  const args = ['--listen', '127.0.0.1:0', '--api-key', API_KEY, '--profile', profile];
  if (seedFile) args.push('--seed', seedFile);
  args.push(...extraArgs);
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    // Kept (bounded) so a stand-in that dies at start says why.
    if (stderr.length < 64 * 1024) stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.after(stop);
  const url = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(
      () => reject(new Error(`the stand-in printed no URL in ${START_LIMIT_MS} ms: ${stderr}`)),
      START_LIMIT_MS,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${BINARY}: ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the stand-in exited (${code}) before printing its URL: ${stderr}`));
    });
  });
  // Drain the rest of standard output so the stand-in never blocks on a full pipe.
  child.stdout.resume();
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) {
    throw new Error(`the stand-in's first line is not its URL: ${JSON.stringify(url)}`);
  }
  return { url, stop };
}

/** Octopus's client, connected as a pipeline connects it (Client.create reads GET /api). */
function connect(url) {
  return Client.create({
    instanceURL: url,
    apiKey: API_KEY,
    userAgentApp: 'zonebridge-api-client-tests',
  });
}

/** Starts a stand-in and connects the client to it: `{ url, client }`. */
async function standinAndClient(t, options) {
  const { url } = await startStandin(t, options);
  const client = await connect(url);
  return { url, client };
}

module.exports = { API_KEY, BINARY, ROOT, SPACE, connect, seed, standinAndClient, startStandin };
