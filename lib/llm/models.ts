// The OpenAI "list models" answer (GET /v1/models): {"object":"list","data":[{"id","object":"model","created","owned_by"}]}.
import { JsonWriter } from "./json-writer";

export function modelsListBody(ids: string[], ownedBy: string, created: i64): Uint8Array {
  const w = new JsonWriter();
  w.beginObject().fieldString("object", "list").key("data").beginArray();
  for (let i = 0; i < ids.length; i++) {
    w.beginObject().fieldString("id", ids[i]).fieldString("object", "model").fieldInt("created", created).fieldString("owned_by", ownedBy).endObject();
  }
  w.endArray().endObject();
  return w.toBytes();
}
