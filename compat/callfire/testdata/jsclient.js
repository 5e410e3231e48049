// Drives CallFire's npm client (callfire-api-client-js) against the hookd
// named by CALLFIRE_BASE (…/compat/callfire/v2) with the key CALLFIRE_KEY,
// as a user of that client would after changing its base URL. Prints one
// JSON line per step, {"step": …, "status": …, "obj": …}, for the Go test
// to check; exits non-zero when the client itself fails.
'use strict';

const CallfireClient = require('callfire-api-client-js');

// The client's one knob for where the API is: its spec's URL derives from it.
CallfireClient.basePath = () => process.env.CALLFIRE_BASE + '/';

function report(step, res) {
  console.log(JSON.stringify({step: step, status: res.status, obj: res.obj === undefined ? null : res.obj}));
}

async function main() {
  const client = new CallfireClient('any-login', process.env.CALLFIRE_KEY);
  await new Promise((resolve, reject) => client.ready(resolve, reject));
  const w = client.webhooks;

  report('findWebhookResources', await w.findWebhookResources({}));
  report('getWebhookResource', await w.getWebhookResource({resource: 'CallBroadcast', fields: 'resource,supportedEvents'}));
  const created = await w.createWebhook({body: {
    name: 'sms sent', resource: 'OutboundText', events: ['Finished'],
    callback: 'https://callback-service.example.com/listener', secret: 'js-client-secret',
  }});
  report('createWebhook', created);
  const id = created.obj.id;
  const got = await w.getWebhook({id: id});
  report('getWebhook', got);
  const changed = Object.assign({}, got.obj, {name: 'sms sent update', callback: 'https://callback-service.example.com/listener2'});
  report('updateWebhook', await w.updateWebhook({id: id, body: changed}));
  report('findWebhooks', await w.findWebhooks({name: 'sms sent update', fields: 'items(id,name,callback,events),totalCount'}));
  report('deleteWebhook', await w.deleteWebhook({id: id}));
  try {
    await w.getWebhook({id: id});
    console.log(JSON.stringify({step: 'getDeleted', status: 200}));
  } catch (err) {
    console.log(JSON.stringify({step: 'getDeleted', status: err.status, obj: err.obj === undefined ? null : err.obj}));
  }
}

main().catch((err) => {
  console.error('client error:', err && (err.stack || JSON.stringify(err)));
  process.exit(1);
});
