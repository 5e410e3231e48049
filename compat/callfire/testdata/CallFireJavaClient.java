// Drives CallFire's official Java client (callfire-api-client-java) against
// the hookd at args[0] (…/compat/callfire/v2) with the API key args[1], the
// way CallFire's own integration test of its webhooks API does: create,
// find with and without fields, update the webhook it has just read, get,
// the resource catalog, delete. Prints one line per check; exits 1 at the
// first that fails.

import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

import com.callfire.api.client.CallfireClient;
import com.callfire.api.client.ResourceNotFoundException;
import com.callfire.api.client.api.common.model.Page;
import com.callfire.api.client.api.webhooks.WebhooksApi;
import com.callfire.api.client.api.webhooks.model.ResourceType;
import com.callfire.api.client.api.webhooks.model.ResourceType.ResourceEvent;
import com.callfire.api.client.api.webhooks.model.Webhook;
import com.callfire.api.client.api.webhooks.model.WebhookResource;
import com.callfire.api.client.api.webhooks.model.request.FindWebhooksRequest;

public class CallFireJavaClient {
    static void check(String what, boolean ok, Object got) {
        if (!ok) {
            System.out.println("FAIL " + what + ": got " + got);
            System.exit(1);
        }
        System.out.println("ok " + what);
    }

    public static void main(String[] args) {
        CallfireClient.getClientConfig().put("com.callfire.api.client.path", args[0]);
        WebhooksApi api = new CallfireClient("any-login", args[1]).webhooksApi();

        Webhook webhook = new Webhook();
        webhook.setCallback("https://test-callback.example.com/");
        webhook.setResource(ResourceType.TEXT_BROADCAST);
        webhook.setEvents(new TreeSet<>(Arrays.asList(ResourceEvent.STARTED)));
        webhook.setName("test_name1");
        webhook.setSingleUse(true);
        Long id1 = api.create(webhook).getId();
        check("create", id1 != null && id1 > 0, id1);
        webhook.setName("test_name2");
        Long id2 = api.create(webhook).getId();
        webhook.setResource(ResourceType.CONTACT_LIST);
        webhook.setEvents(new TreeSet<>(Arrays.asList(ResourceEvent.VALIDATION_FINISHED)));
        Long id3 = api.create(webhook).getId();
        check("create ContactList", id3 != null && id3 > id2, id3);

        Page<Webhook> page = api.find(FindWebhooksRequest.create().limit(30L).name("test_name1")
            .fields("items(id,callback,name,resource,events,singleUse)").build());
        Webhook found = page.getItems().get(0);
        check("find with fields: one", page.getItems().size() == 1, page.getItems().size());
        check("find with fields: callback", "https://test-callback.example.com/".equals(found.getCallback()), found.getCallback());
        check("find with fields: resource", found.getResource() == ResourceType.TEXT_BROADCAST, found.getResource());
        check("find with fields: events", found.getEvents().equals(new TreeSet<>(Arrays.asList(ResourceEvent.STARTED))), found.getEvents());
        check("find with fields: singleUse", Boolean.TRUE.equals(found.getSingleUse()), found.getSingleUse());
        check("find with fields: no secret", found.getSecret() == null, found.getSecret());

        // The webhook it has just read goes back whole: the client validates
        // its events against the resource first.
        webhook = api.find(FindWebhooksRequest.create().limit(30L).name("test_name1").build()).getItems().get(0);
        webhook.setName("test_name2");
        webhook.setSingleUse(false);
        api.update(webhook);
        Webhook updated = api.get(webhook.getId());
        check("update: name", "test_name2".equals(updated.getName()), updated.getName());
        check("update: singleUse", Boolean.FALSE.equals(updated.getSingleUse()), updated.getSingleUse());
        check("update: resource kept", updated.getResource() == ResourceType.TEXT_BROADCAST, updated.getResource());
        check("update: events kept", updated.getEvents().equals(new TreeSet<>(Arrays.asList(ResourceEvent.STARTED))), updated.getEvents());
        Webhook contactList = api.get(id3, "resource,events");
        check("get with fields", contactList.getResource() == ResourceType.CONTACT_LIST
            && contactList.getEvents().equals(new TreeSet<>(Arrays.asList(ResourceEvent.VALIDATION_FINISHED)))
            && contactList.getName() == null, contactList.getResource() + " " + contactList.getEvents() + " " + contactList.getName());

        List<WebhookResource> resources = api.findWebhookResources();
        check("resources: 11", resources.size() == 11, resources.size());
        for (WebhookResource r : resources) {
            check("resources: " + r.getResource() + " known", ResourceType.of(r.getResource()) != ResourceType.UNKNOWN
                || r.getResource().equals("OutboundTextDeliveryReport"), r.getResource());
        }
        resources = api.findWebhookResources("items(resource)");
        check("resources with fields", resources.get(0).getResource() != null && resources.get(0).getSupportedEvents().isEmpty(),
            resources.get(0).getSupportedEvents());
        WebhookResource resource = api.findWebhookResource(ResourceType.CALL_BROADCAST);
        check("resource", "CallBroadcast".equals(resource.getResource()) && resource.getSupportedEvents().equals(
            new TreeSet<>(Arrays.asList(ResourceEvent.STARTED, ResourceEvent.STOPPED, ResourceEvent.FINISHED))), resource.getSupportedEvents());
        resource = api.findWebhookResource(ResourceType.CALL_BROADCAST, "resource");
        check("resource with fields", resource.getResource() != null && resource.getSupportedEvents().isEmpty(), resource.getSupportedEvents());

        api.delete(id1);
        api.delete(id2);
        api.delete(id3);
        try {
            api.get(id1);
            check("get deleted", false, "no exception");
        } catch (ResourceNotFoundException e) {
            check("get deleted", e.getApiErrorMessage().getHttpStatusCode() == 404, e.getApiErrorMessage().getHttpStatusCode());
        }
    }
}
