// The inspector (right): the selected node, wire, component or image, or the deployment itself.
// Every change goes through a pure edit (model/edits.ts) and the store; secrets never enter it.

import { useState } from "react";
import type { Component, ComponentRecipes, Image, ImageRecipes, InputSpec, KeepRunning, Recipe } from "../bindings/recipe";
import {
  clearInput,
  disconnect,
  freshParamName,
  renameComponentInput,
  renameComponentOutput,
  renameNode,
  setCloud,
  setComponent,
  setDeploymentMeta,
  setImage,
  setInputValue,
  setMultiplicity,
  setWireIndex,
} from "../model/edits";
import { parseEdgeId } from "../model/mapping";
import { isWire, parseWire } from "../model/wires";
import { nodeOfPath, componentOfPath, imageOfPath } from "../model/paths";
import { saveModule } from "../actions";
import { designer, useDesigner } from "../store";
import { Row, Section, TextField } from "./fields";
import { ScriptEditor } from "./ScriptEditor";
import { Icon } from "./Icon";
import { Rich } from "./Rich";

const st = () => designer.getState();
const KEEP: KeepRunning[] = ["on-success", "never", "always", "on-error"];
const KEEP_HINT: Record<KeepRunning, string> = {
  "on-success": "keep the machines only if the run succeeds",
  never: "tear everything down at the end",
  always: "keep every machine",
  "on-error": "keep the machines only if the run fails, for debugging",
};
const CLOUD_KINDS = ["local", "ssh", "docker", "ec2", "openstack", "gce", "hetzner", "libvirt"];

export function Inspector() {
  const doc = useDesigner((s) => s.doc);
  const selection = useDesigner((s) => s.selection);
  const inspect = useDesigner((s) => s.inspect);

  let body;
  if (inspect?.kind === "component" && doc.components?.[inspect.name]) {
    body = <ComponentInspector doc={doc} name={inspect.name} key={`c:${inspect.name}`} />;
  } else if (inspect?.kind === "image" && doc.images?.[inspect.name]) {
    body = <ImageInspector doc={doc} name={inspect.name} key={`i:${inspect.name}`} />;
  } else if (inspect?.kind === "deployment") {
    body = <DeploymentInspector doc={doc} />;
  } else if (selection.nodes.length === 1 && doc.deployment.nodes[selection.nodes[0]!]) {
    body = <NodeInspector doc={doc} name={selection.nodes[0]!} key={`n:${selection.nodes[0]}`} />;
  } else if (selection.nodes.length > 1) {
    body = <MultiInspector count={selection.nodes.length} />;
  } else if (selection.edges.length === 1 && parseEdgeId(selection.edges[0]!)) {
    body = <WireInspector doc={doc} id={selection.edges[0]!} />;
  } else {
    body = <DeploymentInspector doc={doc} />;
  }
  return (
    <aside className="sw-inspector" aria-label="Inspector" data-testid="inspector">
      {body}
    </aside>
  );
}

function Header(props: { kind: string; title: string; sub?: string; back?: boolean; testId?: string }) {
  return (
    <div className="sw-inspector__header">
      {props.back ? (
        <button className="sw-link" onClick={() => st().setInspect(null)} data-testid="inspector-back">
          ← Back
        </button>
      ) : null}
      <div className="sw-inspector__kind">{props.kind}</div>
      <h2 className="sw-inspector__title" data-testid={props.testId ?? "inspector-title"}>
        {props.title}
      </h2>
      {props.sub ? <p className="sw-inspector__sub">{props.sub}</p> : null}
    </div>
  );
}

// ------------------------------------------------------------------ deployment

function DeploymentInspector({ doc }: { doc: Recipe }) {
  const nodes = Object.keys(doc.deployment.nodes).length;
  const wires = Object.values(doc.deployment.nodes).reduce(
    (n, node) => n + Object.values(node.inputs ?? {}).filter(isWire).length,
    0,
  );
  return (
    <>
      <Header kind="Deployment" title={doc.name} sub={`${nodes} node${nodes === 1 ? "" : "s"} · ${wires} wire${wires === 1 ? "" : "s"}`} testId="inspector-title" />
      <Section title="Properties">
        <Row label="Name">
          <TextField
            value={doc.name}
            testId="inspector-deployment-name"
            ariaLabel="Deployment name"
            mono
            onCommit={(v) => st().apply(setDeploymentMeta(st().doc, { name: v.trim() }))}
          />
        </Row>
        <Row label="Description">
          <TextField
            value={doc.description ?? ""}
            multiline
            placeholder="What this deployment is for"
            testId="inspector-deployment-description"
            ariaLabel="Deployment description"
            onCommit={(v) => st().apply(setDeploymentMeta(st().doc, { description: v.trim() || null }))}
          />
        </Row>
        <Row label="Keep running" hint={KEEP_HINT[doc.deployment.keep_running]}>
          <select
            className="sw-input"
            value={doc.deployment.keep_running}
            data-testid="inspector-keep-running"
            aria-label="Keep running"
            onChange={(e) => st().apply(setDeploymentMeta(st().doc, { keep_running: e.target.value as KeepRunning }))}
          >
            {KEEP.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </Row>
      </Section>
      <ModulesSection doc={doc} />
      {nodes === 0 ? null : (
        <p className="sw-inspector__tip">Select a node to see its inputs; select a component to edit its recipes.</p>
      )}
    </>
  );
}

function ModulesSection({ doc }: { doc: Recipe }) {
  const components = Object.entries(doc.components ?? {});
  const images = Object.entries(doc.images ?? {});
  return (
    <Section title="Modules in this recipe">
      <ul className="sw-modules">
        {components.map(([name, c]) => (
          <li key={`c-${name}`}>
            <button className="sw-module-link" onClick={() => st().setInspect({ kind: "component", name })} data-testid={`inspector-open-component-${name}`}>
              <Icon name="component" size={14} />
              <span>{name}</span>
              <span className="sw-muted">on {c.image}</span>
            </button>
          </li>
        ))}
        {images.map(([name]) => (
          <li key={`i-${name}`}>
            <button className="sw-module-link" onClick={() => st().setInspect({ kind: "image", name })} data-testid={`inspector-open-image-${name}`}>
              <Icon name="image" size={14} />
              <span>{name}</span>
              <span className="sw-muted">image</span>
            </button>
          </li>
        ))}
        {components.length + images.length === 0 ? <li className="sw-muted">None yet</li> : null}
      </ul>
    </Section>
  );
}

function MultiInspector({ count }: { count: number }) {
  return (
    <>
      <Header kind="Selection" title={`${count} nodes`} sub="Copy, delete or move them together." />
      <div className="sw-actions-row">
        <button className="sw-btn" onClick={() => st().copySelection()}>
          Copy <kbd>Ctrl C</kbd>
        </button>
        <button className="sw-btn sw-btn--danger" onClick={() => st().deleteSelected()} data-testid="inspector-delete">
          <Icon name="trash" /> Delete
        </button>
      </div>
    </>
  );
}

// ------------------------------------------------------------------ wire

function WireInspector({ doc, id }: { doc: Recipe; id: string }) {
  const w = parseEdgeId(id)!;
  const value = doc.deployment.nodes[w.target]?.inputs?.[w.input];
  if (!isWire(value)) return <DeploymentInspector doc={doc} />;
  const ref = parseWire(value.from);
  const producer = ref ? doc.deployment.nodes[ref.node] : undefined;
  return (
    <>
      <Header kind="Wire" title={`${value.from} → ${w.target}.${w.input}`} testId="inspector-title" />
      <Section title="Instances">
        {ref && producer ? (
          <InstancePicker target={w.target} input={w.input} index={ref.index ?? null} multiplicity={producer.multiplicity ?? 1} />
        ) : null}
      </Section>
      <div className="sw-actions-row">
        <button className="sw-btn sw-btn--danger" onClick={() => st().commit(disconnect(st().doc, w.target, w.input))} data-testid="inspector-delete">
          <Icon name="trash" /> Remove wire
        </button>
      </div>
    </>
  );
}

function InstancePicker(props: { target: string; input: string; index: number | null; multiplicity: number }) {
  const options = Array.from({ length: Math.max(props.multiplicity, props.index ?? 0) }, (_, i) => i + 1);
  return (
    <select
      className="sw-input sw-input--small"
      value={props.index ?? "all"}
      aria-label="Which instances"
      data-testid={`inspector-wire-index-${props.input}`}
      title="All instances (values joined by “,”) or one instance"
      onChange={(e) =>
        st().commit(setWireIndex(st().doc, props.target, props.input, e.target.value === "all" ? null : Number(e.target.value)))
      }
    >
      <option value="all">all instances</option>
      {options.map((i) => (
        <option key={i} value={i}>
          instance #{i}
        </option>
      ))}
    </select>
  );
}

// ------------------------------------------------------------------ node

function NodeInspector({ doc, name }: { doc: Recipe; name: string }) {
  const node = doc.deployment.nodes[name]!;
  const component = doc.components?.[node.component];
  const problems = useDesigner((s) => s.problems).filter((p) => nodeOfPath(p.path) === name);
  const [renameError, setRenameError] = useState<string | null>(null);
  const specs = Object.entries(component?.inputs ?? {});
  const extra = Object.keys(node.inputs ?? {}).filter((i) => !component?.inputs?.[i]);

  return (
    <>
      <Header kind="Node" title={name} sub={component?.description ?? undefined} testId="inspector-title" />
      <Section title="Node">
        <Row label="Name" hint={renameError ? <span className="sw-error-text">{renameError}</span> : "Wires that read from it follow the new name."}>
          <TextField
            value={name}
            mono
            testId="inspector-name"
            ariaLabel="Node name"
            onCommit={(v) => {
              const r = renameNode(st().doc, name, v.trim());
              if (!r.ok) {
                setRenameError(r.message);
                return false;
              }
              setRenameError(null);
              st().commit(r.recipe);
              st().setSelection([v.trim()], []);
            }}
          />
        </Row>
        <Row label="Component">
          <div className="sw-inline">
            <code className={`sw-chip${component ? "" : " is-error"}`} data-testid="inspector-component">
              {node.component}
            </code>
            {component ? (
              <button className="sw-link" onClick={() => st().setInspect({ kind: "component", name: node.component })} data-testid="inspector-edit-component">
                Edit component →
              </button>
            ) : (
              <span className="sw-error-text">not in this recipe</span>
            )}
          </div>
        </Row>
        <Row label="Multiplicity" hint={`Instances: ${name}.1, ${name}.2, …`}>
          <TextField
            value={String(node.multiplicity ?? 1)}
            type="number"
            min={1}
            testId="inspector-multiplicity"
            ariaLabel="Multiplicity"
            onCommit={(v) => st().apply(setMultiplicity(st().doc, name, Number(v)))}
          />
        </Row>
        <Row label="Cloud" hint="Clouds are configured in the Clouds view.">
          <TextField
            value={node.cloud ?? ""}
            placeholder="the run's default cloud"
            list="sw-cloud-kinds"
            testId="inspector-cloud"
            ariaLabel="Cloud"
            mono
            onCommit={(v) => st().commit(setCloud(st().doc, name, v.trim() || null))}
          />
          <datalist id="sw-cloud-kinds">
            {CLOUD_KINDS.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
        </Row>
      </Section>
      <Section title="Inputs" testId="inspector-inputs">
        {specs.length + extra.length === 0 ? <p className="sw-muted">This component has no inputs.</p> : null}
        {specs.map(([input, spec]) => (
          <InputRow key={input} doc={doc} node={name} input={input} spec={spec} />
        ))}
        {extra.map((input) => (
          <InputRow key={input} doc={doc} node={name} input={input} spec={null} />
        ))}
      </Section>
      {problems.length > 0 ? (
        <Section title="Problems">
          <ul className="sw-mini-problems">
            {problems.map((p, i) => (
              <li key={i} className={`is-${p.severity}`}>
                <Icon name="alert" size={14} />
                <span><Rich text={p.message} /></span>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      <div className="sw-actions-row">
        <button className="sw-btn sw-btn--danger" onClick={() => st().deleteSelected()} data-testid="inspector-delete">
          <Icon name="trash" /> Delete node
        </button>
      </div>
    </>
  );
}

function InputRow({ doc, node, input, spec }: { doc: Recipe; node: string; input: string; spec: InputSpec | null }) {
  const value = doc.deployment.nodes[node]?.inputs?.[input];
  const label = (
    <span className="sw-input-label">
      <code>{input}</code>
      {spec?.required ? <span className="sw-req" title="required">*</span> : null}
      {spec?.secret ? <Icon name="lock" size={13} className="sw-lock" /> : null}
    </span>
  );
  if (spec === null) {
    return (
      <Row label={label} hint={<span className="sw-error-text">The component has no such input.</span>}>
        <button className="sw-link" onClick={() => st().apply(setInputValue(st().doc, node, input, null))}>
          Remove
        </button>
      </Row>
    );
  }
  if (isWire(value)) {
    const ref = parseWire(value.from);
    const producer = ref ? doc.deployment.nodes[ref.node] : undefined;
    return (
      <Row label={label} hint={spec.description}>
        <div className="sw-wired" data-testid={`inspector-input-${input}`}>
          <Icon name="wire" size={14} />
          <button className="sw-link sw-mono" onClick={() => ref && st().focusNode(ref.node)} title="Show the node it comes from">
            {value.from}
          </button>
          {ref && producer && (producer.multiplicity ?? 1) > 1 ? (
            <InstancePicker target={node} input={input} index={ref.index ?? null} multiplicity={producer.multiplicity ?? 1} />
          ) : null}
          <button
            className="sw-icon-btn"
            aria-label={`Disconnect ${input}`}
            title="Disconnect"
            onClick={() => st().commit(disconnect(st().doc, node, input))}
            data-testid={`inspector-disconnect-${input}`}
          >
            <Icon name="close" size={14} />
          </button>
        </div>
      </Row>
    );
  }
  if (spec.secret) {
    return (
      <Row label={label} hint={spec.description}>
        <div className="sw-secret" data-testid={`inspector-input-${input}`}>
          <Icon name="lock" size={14} />
          <span>
            Secret —{" "}
            {spec.generate ? `a random ${spec.generate}-character value is generated at launch` : "given at launch, never saved in the recipe"}
          </span>
        </div>
        {typeof value === "string" ? (
          <div className="sw-row__hint">
            <span className="sw-error-text">The file holds a value for this secret. </span>
            <button className="sw-link" onClick={() => st().commit(clearInput(st().doc, node, input))} data-testid={`inspector-remove-secret-${input}`}>
              Remove it
            </button>
          </div>
        ) : null}
      </Row>
    );
  }
  return (
    <Row label={label} hint={spec.description}>
      <TextField
        value={typeof value === "string" ? value : ""}
        placeholder={spec.default != null ? `default: ${spec.default}` : spec.required ? "required: wire it or give a value" : "no value"}
        testId={`inspector-input-${input}`}
        ariaLabel={`Input ${input}`}
        mono
        onCommit={(v) => st().apply(setInputValue(st().doc, node, input, v === "" ? null : v))}
      />
    </Row>
  );
}

// ------------------------------------------------------------------ component

const COMPONENT_RECIPES: (keyof ComponentRecipes)[] = ["deployment", "reporting", "on_node_add", "on_node_remove"];
const RECIPE_HELP: Record<string, string> = {
  deployment: "Runs once per instance after the image recipes. Append name=value lines to $SLIPWAY_OUTPUT to set outputs.",
  reporting: "Runs after deployment; files left in $SLIPWAY_REPORT_DIR are fetched into the run's reports.",
  on_node_add: "Runs on existing instances when the node is scaled up.",
  on_node_remove: "Runs on existing instances when the node is scaled down.",
  pre_install: "Runs first on a fresh machine.",
  post_install: "Runs after the packages are installed.",
};

function ComponentInspector({ doc, name }: { doc: Recipe; name: string }) {
  const component = doc.components![name]!;
  const [tab, setTab] = useState<keyof ComponentRecipes>("deployment");
  const problems = useDesigner((s) => s.problems).filter((p) => componentOfPath(p.path) === name);
  const update = (c: Component, coalesce?: string) => st().commit(setComponent(st().doc, name, c), coalesce ? { coalesce } : {});
  const usedBy = Object.entries(doc.deployment.nodes).filter(([, n]) => n.component === name).map(([n]) => n);
  const imageNames = Object.keys(doc.images ?? {});

  const setSpec = (input: string, patch: Partial<InputSpec>) => {
    const spec: InputSpec = { ...(component.inputs?.[input] ?? {}), ...patch };
    for (const k of Object.keys(spec) as (keyof InputSpec)[]) {
      const v = spec[k];
      if (v === undefined || v === null || v === false || v === "") delete spec[k];
    }
    update({ ...component, inputs: { ...(component.inputs ?? {}), [input]: spec } });
  };

  return (
    <>
      <Header kind="Component" title={name} sub={usedBy.length ? `Used by ${usedBy.join(", ")}` : "Not used by any node"} back testId="inspector-title" />
      <Section title="Component">
        <Row label="Image">
          <select
            className="sw-input"
            value={component.image}
            aria-label="Image"
            data-testid="component-image"
            onChange={(e) => update({ ...component, image: e.target.value })}
          >
            {[...new Set([component.image, ...imageNames])].map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </Row>
        <Row label="Description">
          <TextField
            value={component.description ?? ""}
            multiline
            testId="component-description"
            ariaLabel="Component description"
            onCommit={(v) => {
              const c = { ...component };
              if (v.trim()) c.description = v.trim();
              else delete c.description;
              update(c);
            }}
          />
        </Row>
      </Section>

      <Section
        title="Inputs"
        testId="component-inputs"
        actions={
          <button
            className="sw-icon-btn"
            title="Add an input"
            aria-label="Add an input"
            data-testid="component-add-input"
            onClick={() => update({ ...component, inputs: { ...(component.inputs ?? {}), [freshParamName(component.inputs, "input")]: {} } })}
          >
            <Icon name="plus" />
          </button>
        }
      >
        {Object.keys(component.inputs ?? {}).length === 0 ? <p className="sw-muted">No inputs.</p> : null}
        {Object.entries(component.inputs ?? {}).map(([input, spec]) => (
          <div className="sw-param" key={input} data-testid={`component-input-${input}`}>
            <div className="sw-param__top">
              <TextField
                value={input}
                mono
                testId={`component-input-name-${input}`}
                ariaLabel={`Name of input ${input}`}
                onCommit={(v) => st().apply(renameComponentInput(st().doc, name, input, v.trim()))}
              />
              <button
                className="sw-icon-btn"
                aria-label={`Remove input ${input}`}
                title="Remove"
                onClick={() => {
                  const inputs = { ...(component.inputs ?? {}) };
                  delete inputs[input];
                  update({ ...component, inputs });
                }}
              >
                <Icon name="trash" size={14} />
              </button>
            </div>
            <div className="sw-param__flags">
              <label>
                <input type="checkbox" checked={spec.required ?? false} onChange={(e) => setSpec(input, { required: e.target.checked })} /> required
              </label>
              <label>
                <input
                  type="checkbox"
                  checked={spec.secret ?? false}
                  onChange={(e) => setSpec(input, e.target.checked ? { secret: true, default: null } : { secret: false })}
                />{" "}
                secret
              </label>
            </div>
            <div className="sw-param__grid">
              {spec.secret ? (
                <TextField
                  value={spec.generate != null ? String(spec.generate) : ""}
                  type="number"
                  min={1}
                  placeholder="generate N chars"
                  testId={`component-input-generate-${input}`}
                  ariaLabel={`Generate length of ${input}`}
                  onCommit={(v) => setSpec(input, { generate: v ? Number(v) : null })}
                />
              ) : (
                <TextField
                  value={spec.default ?? ""}
                  placeholder="default value"
                  mono
                  testId={`component-input-default-${input}`}
                  ariaLabel={`Default of ${input}`}
                  onCommit={(v) => setSpec(input, { default: v === "" ? null : v })}
                />
              )}
              <TextField
                value={spec.description ?? ""}
                placeholder="description"
                testId={`component-input-description-${input}`}
                ariaLabel={`Description of ${input}`}
                onCommit={(v) => setSpec(input, { description: v.trim() || null })}
              />
            </div>
          </div>
        ))}
      </Section>

      <Section
        title="Outputs"
        testId="component-outputs"
        actions={
          <button
            className="sw-icon-btn"
            title="Add an output"
            aria-label="Add an output"
            data-testid="component-add-output"
            onClick={() => update({ ...component, outputs: { ...(component.outputs ?? {}), [freshParamName(component.outputs, "output").replace(/_/g, "-")]: {} } })}
          >
            <Icon name="plus" />
          </button>
        }
      >
        {Object.keys(component.outputs ?? {}).length === 0 ? <p className="sw-muted">No outputs besides the built-ins.</p> : null}
        {Object.entries(component.outputs ?? {}).map(([output, spec]) => (
          <div className="sw-param sw-param--row" key={output} data-testid={`component-output-${output}`}>
            <TextField
              value={output}
              mono
              testId={`component-output-name-${output}`}
              ariaLabel={`Name of output ${output}`}
              onCommit={(v) => st().apply(renameComponentOutput(st().doc, name, output, v.trim()))}
            />
            <TextField
              value={spec.description ?? ""}
              placeholder="description"
              testId={`component-output-description-${output}`}
              ariaLabel={`Description of ${output}`}
              onCommit={(v) => {
                const s = { ...spec };
                if (v.trim()) s.description = v.trim();
                else delete s.description;
                update({ ...component, outputs: { ...(component.outputs ?? {}), [output]: s } });
              }}
            />
            <button
              className="sw-icon-btn"
              aria-label={`Remove output ${output}`}
              title="Remove"
              onClick={() => {
                const outputs = { ...(component.outputs ?? {}) };
                delete outputs[output];
                update({ ...component, outputs });
              }}
            >
              <Icon name="trash" size={14} />
            </button>
          </div>
        ))}
      </Section>

      <Section title="Recipes" testId="component-recipes">
        <div className="sw-tabs" role="tablist">
          {COMPONENT_RECIPES.map((r) => (
            <button
              key={r}
              role="tab"
              aria-selected={tab === r}
              className={`sw-tab${tab === r ? " is-active" : ""}${component.recipes?.[r] ? " has-content" : ""}`}
              onClick={() => setTab(r)}
              data-testid={`component-recipe-tab-${r}`}
            >
              {r}
            </button>
          ))}
        </div>
        <p className="sw-row__hint">{RECIPE_HELP[tab]}</p>
        <ScriptEditor
          key={tab}
          value={component.recipes?.[tab] ?? ""}
          placeholder="#!/bin/sh — a shell script run with /bin/sh -e"
          testId={`inspector-recipe-${tab}`}
          ariaLabel={`${tab} recipe`}
          onChange={(text) => {
            const current = st().doc.components?.[name] ?? component;
            const recipes: ComponentRecipes = { ...(current.recipes ?? {}) };
            if (text === "") delete recipes[tab];
            else recipes[tab] = text;
            const c: Component = { ...current, recipes };
            if (Object.keys(recipes).length === 0) delete c.recipes;
            update(c, `recipe:${name}:${tab}`);
          }}
        />
      </Section>
      {problems.length > 0 ? (
        <Section title="Problems">
          <ul className="sw-mini-problems">
            {problems.map((p, i) => (
              <li key={i} className={`is-${p.severity}`}>
                <Icon name="alert" size={14} />
                <span><Rich text={p.message} /></span>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      <SaveModule kind="component" name={name} body={component} />
    </>
  );
}

function SaveModule(props: { kind: "component" | "image"; name: string; body: Component | Image }) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <div className="sw-save-module">
      <input
        className="sw-input"
        placeholder="What changed? (optional)"
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        aria-label="Version comment"
        data-testid={`inspector-${props.kind}-comment`}
      />
      <button
        className="sw-btn sw-btn--primary"
        disabled={busy}
        data-testid={`inspector-${props.kind}-save`}
        onClick={async () => {
          setBusy(true);
          const v = await saveModule(props.kind, props.name, props.body, comment.trim() || undefined);
          setBusy(false);
          if (v !== null) setComment("");
        }}
      >
        <Icon name="save" /> Save new version
      </button>
    </div>
  );
}

// ------------------------------------------------------------------ image

const IMAGE_SCRIPTS: ("pre_install" | "post_install")[] = ["pre_install", "post_install"];

function ImageInspector({ doc, name }: { doc: Recipe; name: string }) {
  const image = doc.images![name]!;
  const [tab, setTab] = useState<"pre_install" | "post_install">("pre_install");
  const problems = useDesigner((s) => s.problems).filter((p) => imageOfPath(p.path) === name);
  const update = (i: Image, coalesce?: string) => st().commit(setImage(st().doc, name, i), coalesce ? { coalesce } : {});
  const setRecipes = (patch: Partial<ImageRecipes>, coalesce?: string) => {
    const current = st().doc.images?.[name] ?? image;
    const recipes: ImageRecipes = { ...(current.recipes ?? {}), ...patch };
    if (!recipes.pre_install) delete recipes.pre_install;
    if (!recipes.post_install) delete recipes.post_install;
    if (!recipes.packages?.length) delete recipes.packages;
    const next: Image = { ...current, recipes };
    if (Object.keys(recipes).length === 0) delete next.recipes;
    update(next, coalesce);
  };
  const clouds = Object.entries(image.clouds ?? {});
  return (
    <>
      <Header kind="Image" title={name} sub={image.description ?? undefined} back testId="inspector-title" />
      <Section title="Image">
        <Row label="Description">
          <TextField
            value={image.description ?? ""}
            multiline
            testId="image-description"
            ariaLabel="Image description"
            onCommit={(v) => {
              const next = { ...image };
              if (v.trim()) next.description = v.trim();
              else delete next.description;
              update(next);
            }}
          />
        </Row>
        <Row label="Login user" hint="The user recipes log in as over SSH.">
          <TextField
            value={image.login_user ?? ""}
            mono
            placeholder="root"
            testId="image-login-user"
            ariaLabel="Login user"
            onCommit={(v) => {
              const next = { ...image };
              if (v.trim()) next.login_user = v.trim();
              else delete next.login_user;
              update(next);
            }}
          />
        </Row>
      </Section>
      <Section
        title="Per cloud"
        actions={
          <button
            className="sw-icon-btn"
            aria-label="Add a cloud mapping"
            title="Add a cloud mapping"
            onClick={() => {
              const key = CLOUD_KINDS.find((k) => !(k in (image.clouds ?? {}))) ?? `cloud-${clouds.length + 1}`;
              update({ ...image, clouds: { ...(image.clouds ?? {}), [key]: {} } });
            }}
          >
            <Icon name="plus" />
          </button>
        }
      >
        {clouds.length === 0 ? <p className="sw-muted">No mappings: fine for local and ssh clouds.</p> : null}
        <datalist id="sw-cloud-kinds-image">
          {CLOUD_KINDS.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        {clouds.map(([cloud, m]) => (
          <div className="sw-param sw-param--row3" key={cloud} data-testid={`image-cloud-${cloud}`}>
            <TextField
              value={cloud}
              mono
              testId={`image-cloud-name-${cloud}`}
              ariaLabel={`Cloud name or driver kind (${cloud})`}
              list="sw-cloud-kinds-image"
              onCommit={(v) => {
                const key = v.trim();
                if (!key || (key !== cloud && key in (image.clouds ?? {}))) return false;
                update({ ...image, clouds: Object.fromEntries(Object.entries(image.clouds ?? {}).map(([k, m2]) => [k === cloud ? key : k, m2])) });
              }}
            />
            <TextField
              value={m.image ?? ""}
              mono
              placeholder="image id"
              testId={`image-cloud-image-${cloud}`}
              ariaLabel={`Image on ${cloud}`}
              onCommit={(v) => update({ ...image, clouds: { ...image.clouds, [cloud]: { ...m, image: v.trim() || null } } })}
            />
            <TextField
              value={m.size ?? ""}
              mono
              placeholder="size"
              testId={`image-cloud-size-${cloud}`}
              ariaLabel={`Size on ${cloud}`}
              onCommit={(v) => update({ ...image, clouds: { ...image.clouds, [cloud]: { ...m, size: v.trim() || null } } })}
            />
            <button
              className="sw-icon-btn"
              aria-label={`Remove ${cloud}`}
              onClick={() => {
                const c = { ...(image.clouds ?? {}) };
                delete c[cloud];
                update({ ...image, clouds: c });
              }}
            >
              <Icon name="trash" size={14} />
            </button>
          </div>
        ))}
      </Section>
      <Section title="Image recipes">
        <Row label="Packages" hint="Installed with the machine's package manager; separate with spaces.">
          <TextField
            value={(image.recipes?.packages ?? []).join(" ")}
            mono
            placeholder="curl postgresql"
            testId="image-packages"
            ariaLabel="Packages"
            onCommit={(v) => setRecipes({ packages: v.split(/[\s,]+/).filter(Boolean) })}
          />
        </Row>
        <div className="sw-tabs" role="tablist">
          {IMAGE_SCRIPTS.map((r) => (
            <button
              key={r}
              role="tab"
              aria-selected={tab === r}
              className={`sw-tab${tab === r ? " is-active" : ""}${image.recipes?.[r] ? " has-content" : ""}`}
              onClick={() => setTab(r)}
            >
              {r}
            </button>
          ))}
        </div>
        <p className="sw-row__hint">{RECIPE_HELP[tab]}</p>
        <ScriptEditor
          key={tab}
          value={image.recipes?.[tab] ?? ""}
          placeholder="#!/bin/sh"
          testId={`inspector-recipe-${tab}`}
          ariaLabel={`${tab} recipe`}
          onChange={(text) => setRecipes({ [tab]: text || null }, `image:${name}:${tab}`)}
        />
      </Section>
      {problems.length > 0 ? (
        <Section title="Problems">
          <ul className="sw-mini-problems">
            {problems.map((p, i) => (
              <li key={i} className={`is-${p.severity}`}>
                <Icon name="alert" size={14} />
                <span><Rich text={p.message} /></span>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      <SaveModule kind="image" name={name} body={image} />
    </>
  );
}
