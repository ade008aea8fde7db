// A form built from an event's JSON Schema (draft 2020-12, as a definition declares it under
// "statewright.events"): one input per property of an object schema, typed from the schema
// (text, number, checkbox, select for an enum, JSON for nested objects and arrays), required
// ones marked. An event without a schema gets one optional JSON field for its payload.

import { el } from "./ui.js";

/** Resolve a local `$ref` ("#/$defs/item") against the schema's root. */
function resolve(schema, root, depth = 0) {
  if (!schema || typeof schema !== "object" || typeof schema.$ref !== "string" || depth > 20) {
    return schema;
  }
  const ref = schema.$ref;
  if (!ref.startsWith("#/")) return schema;
  let node = root;
  for (const part of ref.slice(2).split("/")) {
    node = node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node === undefined ? schema : resolve({ ...node, ...withoutRef(schema) }, root, depth + 1);
}

function withoutRef(schema) {
  const { $ref, ...rest } = schema;
  return rest;
}

/** The one type a property is edited as ("string", "integer", "number", "boolean", "json"). */
function kindOf(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  if ("const" in schema) return "const";
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== "null") ?? "null";
  if (["string", "integer", "number", "boolean"].includes(type)) return type;
  return "json";
}

const FORMATS = { "date-time": "datetime-local", date: "date", email: "email", uri: "url", time: "time" };

function input(name, schema, required) {
  const kind = kindOf(schema);
  const id = `field-${name}`;
  const attrs = { id, name, "data-field": name, "data-kind": kind };
  let control;
  if (kind === "enum") {
    control = el(
      "select",
      attrs,
      required ? null : el("option", { value: "" }, "—"),
      schema.enum.map((v) => el("option", { value: JSON.stringify(v) }, String(v))),
    );
    if (schema.default !== undefined) control.value = JSON.stringify(schema.default);
  } else if (kind === "boolean") {
    control = el("input", { ...attrs, type: "checkbox" });
    control.checked = schema.default === true;
  } else if (kind === "json") {
    control = el("textarea", { ...attrs, rows: "3", spellcheck: "false", placeholder: "JSON" });
    if (schema.default !== undefined) control.value = JSON.stringify(schema.default, null, 2);
  } else if (kind === "const") {
    control = el("input", { ...attrs, type: "text" });
    control.readOnly = true;
    control.value = JSON.stringify(schema.const);
  } else {
    const type = kind === "string" ? FORMATS[schema.format] || "text" : "number";
    control = el("input", { ...attrs, type });
    if (kind === "integer") control.step = "1";
    if (kind === "number") control.step = "any";
    if (schema.minimum !== undefined) control.min = String(schema.minimum);
    if (schema.maximum !== undefined) control.max = String(schema.maximum);
    if (schema.minLength !== undefined) control.minLength = schema.minLength;
    if (schema.maxLength !== undefined) control.maxLength = schema.maxLength;
    if (schema.pattern !== undefined) control.pattern = schema.pattern;
    if (schema.default !== undefined) control.value = String(schema.default);
  }
  if (required && kind !== "boolean") control.required = true;
  const label = schema.title || name;
  return el(
    "div",
    { class: "form-field", "data-for": name },
    el("label", { for: id }, label, required ? el("span", { class: "req", title: "required" }, " *") : null),
    control,
    schema.description ? el("div", { class: "help" }, schema.description) : null,
    el("div", { class: "field-error" }),
  );
}

/** Read one control's value; `undefined` for an empty optional one. Throws on bad JSON and
 * on text a number input cannot read. */
function valueOf(control) {
  const kind = control.dataset.kind;
  if (kind === "boolean") return control.checked;
  // A number input whose text is no number ("1e") reads as "": say so, rather than leave
  // the field out and have the server call it missing.
  if (control.validity?.badInput) throw new FieldError(control.dataset.field, "not a number");
  const raw = control.value;
  if (raw === "") return undefined;
  if (kind === "integer" || kind === "number") return Number(raw);
  if (kind === "enum" || kind === "const") return JSON.parse(raw);
  if (kind === "json") {
    try {
      return JSON.parse(raw);
    } catch (error) {
      throw new FieldError(control.dataset.field, `not JSON: ${error.message}`);
    }
  }
  if (control.type === "datetime-local") return new Date(raw).toISOString();
  return raw;
}

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

/** A form for an event's fields.
 *
 * Returns `{node, collect, showErrors}`: `collect()` gives the fields as an object (throws a
 * FieldError naming the field when one cannot be read), `showErrors(errors)` marks the
 * fields a 422 `payload-invalid` problem names (`[{path, message}]`). */
export function schemaForm(schema, root = schema) {
  const resolved = resolve(schema, root);
  const declared =
    resolved && typeof resolved === "object" && resolved.properties && typeof resolved.properties === "object";
  const fields = el("div", { class: "form-fields" });
  if (resolved === false || (resolved && resolved.not && Object.keys(resolved.not).length === 0)) {
    fields.append(el("p", { class: "sw-muted" }, "This event takes no fields."));
  } else if (declared) {
    const required = new Set(resolved.required || []);
    for (const [name, prop] of Object.entries(resolved.properties)) {
      fields.append(input(name, resolve(prop, root) || {}, required.has(name)));
    }
    if (Object.keys(resolved.properties).length === 0) {
      fields.append(el("p", { class: "sw-muted" }, "This event takes no fields."));
    }
  } else {
    fields.append(
      el(
        "div",
        { class: "form-field", "data-for": "" },
        el("label", { for: "field-payload" }, "Fields (JSON object, optional)"),
        el("textarea", {
          id: "field-payload",
          rows: "3",
          spellcheck: "false",
          placeholder: '{"by": "ann"}',
          "data-payload": "",
        }),
        el(
          "div",
          { class: "help" },
          resolved && typeof resolved === "object" ? "Its schema names no fields: any JSON object it allows." : "The definition declares no schema for this event.",
        ),
        el("div", { class: "field-error" }),
      ),
    );
  }

  function collect() {
    const free = fields.querySelector("[data-payload]");
    if (free) {
      if (free.value.trim() === "") return {};
      let parsed;
      try {
        parsed = JSON.parse(free.value);
      } catch (error) {
        throw new FieldError("", `not JSON: ${error.message}`);
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new FieldError("", "give a JSON object of fields, like {\"by\": \"ann\"}");
      }
      return parsed;
    }
    const out = {};
    for (const control of fields.querySelectorAll("[data-field]")) {
      const value = valueOf(control);
      if (value !== undefined) out[control.dataset.field] = value;
    }
    return out;
  }

  function showErrors(errors) {
    for (const node of fields.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of fields.querySelectorAll(".form-field")) node.classList.remove("invalid");
    for (const error of errors || []) {
      const name = String(error.path ?? error.field ?? "").split(/[.[]/)[0];
      const field =
        fields.querySelector(`.form-field[data-for="${CSS.escape(name)}"]`) ||
        fields.querySelector('.form-field[data-for=""]');
      if (!field) continue;
      field.classList.add("invalid");
      const box = field.querySelector(".field-error");
      box.textContent = (box.textContent ? box.textContent + "; " : "") + (error.path ? `${error.path}: ` : "") + error.message;
    }
  }

  return { node: fields, collect, showErrors };
}

export { FieldError };
