/**
 * A JSON document already rendered (the read path's, by PostgreSQL) whose parsed value is a `T`. A route
 * returning one declares `Content-Type: application/json`, and Fastify sends the text as it is.
 */
export type JsonText<T> = string & { readonly jsonOf?: T };

/** The Content-Type of a route that returns JsonText, as Fastify writes it for a serialized object. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
