// Drives the real node-marketo-rest client (as published on npm) against a Spillway server and prints, as one JSON
// line, everything it received. The C# test NodeMarketoRestTests starts the server and checks the output.
'use strict';
const crypto = require('crypto');
const Marketo = require('node-marketo-rest');

const base = process.env.SPILLWAY_BASE.replace(/\/$/, '');
const marketo = new Marketo({
  endpoint: base + '/rest',
  identity: base + '/identity',
  clientId: process.env.SPILLWAY_CLIENT_ID,
  clientSecret: process.env.SPILLWAY_CLIENT_SECRET,
});
const filter = { createdAt: { startAt: process.env.SPILLWAY_START, endAt: process.env.SPILLWAY_END } };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const out = { statuses: [] };
  const bulk = marketo.bulkActivityExtract;
  out.create = await bulk.create(filter, { format: 'CSV' });
  const id = out.create.result[0].exportId;
  out.enqueue = await bulk.enqueue(id);
  // statusTilCompleted waits 30 s between polls; poll the status call itself instead.
  const deadline = Date.now() + 60000;
  for (;;) {
    const status = await bulk.status(id);
    out.statuses.push(status.result[0].status);
    if (['Completed', 'Failed', 'Cancelled'].includes(status.result[0].status)) { out.final = status; break; }
    if (Date.now() > deadline) { throw new Error('job not finished after 60 s'); }
    await sleep(100);
  }
  const text = await bulk.file(id);
  out.fileType = typeof text;
  out.fileLength = Buffer.byteLength(text, 'utf8');
  out.fileSha256 = 'sha256:' + crypto.createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
  out.fileHead = text.split('\n')[0];

  const second = await bulk.create(filter, {});
  out.cancel = await bulk.cancel(second.result[0].exportId);

  // Its Bulk Lead Extract, as an API user with Read-Only Lead: create(fields, filter, options), enqueue, status, file.
  if (process.env.SPILLWAY_LEAD_CLIENT_ID) {
    const leadClient = new Marketo({
      endpoint: base + '/rest',
      identity: base + '/identity',
      clientId: process.env.SPILLWAY_LEAD_CLIENT_ID,
      clientSecret: process.env.SPILLWAY_LEAD_CLIENT_SECRET,
    });
    const leads = leadClient.bulkLeadExtract;
    const leadFilter = { createdAt: { startAt: process.env.SPILLWAY_LEAD_START, endAt: process.env.SPILLWAY_LEAD_END } };
    const leadOut = { statuses: [] };
    leadOut.create = await leads.create(['id', 'email', 'firstName'], leadFilter, { format: 'CSV' });
    const leadId = leadOut.create.result[0].exportId;
    leadOut.enqueue = await leads.enqueue(leadId);
    const leadDeadline = Date.now() + 60000;
    for (;;) {
      const status = await leads.status(leadId);
      leadOut.statuses.push(status.result[0].status);
      if (['Completed', 'Failed', 'Cancelled'].includes(status.result[0].status)) { leadOut.final = status; break; }
      if (Date.now() > leadDeadline) { throw new Error('lead job not finished after 60 s'); }
      await sleep(100);
    }
    leadOut.file = await leads.file(leadId);
    const leadSecond = await leads.create(['id'], leadFilter, {});
    leadOut.cancel = await leads.cancel(leadSecond.result[0].exportId);
    out.leads = leadOut;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write('node-marketo-rest run failed: ' + (err && err.stack ? err.stack : JSON.stringify(err)) + '\n');
  process.exit(1);
});
