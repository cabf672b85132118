// The canvas node: title, component, multiplicity badge, input ports (left), outputs and built-in
// parameters (right), and a problem marker. Draws only what model/mapping.ts put in its data.

import { memo } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { inHandle, outHandle, type SlipwayFlowNode } from "../model/mapping";
import { Icon } from "./Icon";

function SlipwayNodeView({ data, selected }: NodeProps<SlipwayFlowNode>) {
  const { name, node, inputs, outputs, issues, componentMissing } = data;
  const multiplicity = node.multiplicity ?? 1;
  const errors = issues.filter((i) => i.severity === "error").length;
  const recipeOutputs = outputs.filter((o) => !o.builtIn);
  const builtIns = outputs.filter((o) => o.builtIn);
  const problemTitle = issues.map((i) => `${i.severity}: ${i.message}`).join("\n");
  return (
    <div
      className={`sw-node${selected ? " is-selected" : ""}${issues.length ? (errors ? " has-errors" : " has-warnings") : ""}`}
      data-testid={`node-${name}`}
    >
      <header className="sw-node__header">
        <div className="sw-node__icon" aria-hidden>
          <Icon name="server" />
        </div>
        <div className="sw-node__titles">
          <div className="sw-node__title" title={name}>
            {name}
          </div>
          <div className={`sw-node__component${componentMissing ? " is-missing" : ""}`} title={data.componentDescription ?? ""}>
            {node.component}
            {node.cloud ? <span className="sw-node__cloud"> · {node.cloud}</span> : null}
          </div>
        </div>
        {multiplicity > 1 ? (
          <span className="sw-badge" data-testid={`node-multiplicity-${name}`} title={`${multiplicity} instances`}>
            ×{multiplicity}
          </span>
        ) : null}
        {issues.length > 0 ? (
          <span
            className={`sw-node__problem ${errors ? "is-error" : "is-warning"}`}
            data-testid={`node-problem-${name}`}
            title={problemTitle}
            aria-label={`${issues.length} problem${issues.length === 1 ? "" : "s"}`}
          >
            <Icon name="alert" />
            {issues.length}
          </span>
        ) : null}
      </header>
      <div className="sw-node__body">
        <ul className="sw-node__col sw-node__inputs" aria-label="inputs">
          {inputs.length === 0 ? <li className="sw-node__none">no inputs</li> : null}
          {inputs.map((p) => (
            <li
              key={p.name}
              className={`sw-port sw-port--in${p.wired ? " is-wired" : ""}${p.required && !p.wired && !p.hasValue ? " is-unset" : ""}${p.state === "unknown" ? " is-unknown" : ""}`}
              title={[p.description, p.required ? "required" : "", p.secret ? "secret: given at launch" : ""].filter(Boolean).join(" · ")}
            >
              <Handle
                type="target"
                position={Position.Left}
                id={inHandle(p.name)}
                className="sw-handle sw-handle--in"
                data-testid={`port-in-${name}-${p.name}`}
              />
              <span className="sw-port__name">{p.name}</span>
              {p.required ? <span className="sw-port__req" aria-label="required">*</span> : null}
              {p.secret ? <Icon name="lock" className="sw-port__lock" /> : null}
            </li>
          ))}
        </ul>
        <ul className="sw-node__col sw-node__outputs" aria-label="outputs">
          {recipeOutputs.map((p) => (
            <li
              key={p.name}
              className={`sw-port sw-port--out${p.wired ? " is-wired" : ""}${p.state === "unknown" ? " is-unknown" : ""}`}
              title={p.description ?? "recipe output"}
            >
              <span className="sw-port__name">{p.name}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={outHandle(p.name)}
                className="sw-handle sw-handle--out"
                data-testid={`port-out-${name}-${p.name}`}
              />
            </li>
          ))}
          <li className="sw-node__divider" aria-hidden>
            built-in
          </li>
          {builtIns.map((p) => (
            <li
              key={p.name}
              className={`sw-port sw-port--out sw-port--builtin${p.wired ? " is-wired" : ""}`}
              title="built-in parameter: known once the instance is provisioned"
            >
              <span className="sw-port__name">{p.name}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={outHandle(p.name)}
                className="sw-handle sw-handle--builtin"
                data-testid={`port-out-${name}-${p.name}`}
              />
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

export const SlipwayNode = memo(SlipwayNodeView);
