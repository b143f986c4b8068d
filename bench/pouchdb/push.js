// PouchDB side of bench/bench_pouchdb.py: a client in node pushing a local database to a remote one.
//   node push.js load DIR RECORDS.jsonl   put the records (one JSON object a line) into the local db DIR
//   node push.js push DIR URL             db.replicate.to(URL) once; prints {"seconds", "docs_written",
//                                          "requests", "ok", "error"} as one JSON line
// Requests are counted by wrapping the fetch PouchDB uses for the remote. Run with NODE_PATH pointing at
// the scratch node_modules (bench/.scratch/pouchdb/node_modules): PouchDB is never a product dependency.
'use strict';
const fs = require('fs');
const PouchDB = require('pouchdb');

async function load(dir, file) {
  const db = new PouchDB(dir);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const docs = lines.map((line, n) => Object.assign({ _id: 'r' + String(n).padStart(6, '0') }, JSON.parse(line)));
  for (let at = 0; at < docs.length; at += 1000) {
    await db.bulkDocs(docs.slice(at, at + 1000));
  }
  const info = await db.info();
  await db.close();
  return { docs: info.doc_count };
}

async function push(dir, url) {
  let requests = 0;
  const remote = new PouchDB(url, {
    fetch: (u, opts) => { requests += 1; return PouchDB.fetch(u, opts); },
  });
  const db = new PouchDB(dir);
  const start = process.hrtime.bigint();
  let ok = true, error = null, written = 0;
  try {
    const result = await db.replicate.to(remote, { retry: false });
    written = result.docs_written;
  } catch (err) {
    ok = false;
    error = String(err && (err.message || err.name || err));
    written = (err && err.result && err.result.docs_written) || 0;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await db.close();
  return { seconds, docs_written: written, requests, ok, error };
}

(async () => {
  const [mode, dir, arg] = process.argv.slice(2);
  const out = mode === 'load' ? await load(dir, arg) : await push(dir, arg);
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((err) => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1); });
