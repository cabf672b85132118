// A modal dialog: an overlay, a titled card, Escape and the backdrop close it.

import { useEffect, useRef, type ReactNode } from "react";
import { Icon } from "./Icon";

export function Dialog(props: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  testId: string;
}) {
  const card = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        props.onClose();
      }
    };
    window.addEventListener("keydown", onKey, true);
    const first = card.current?.querySelector<HTMLElement>("[autofocus], input, textarea, button.sw-btn--primary");
    first?.focus();
    return () => window.removeEventListener("keydown", onKey, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <div className="sw-overlay" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div
        ref={card}
        className={`sw-dialog${props.wide ? " is-wide" : ""}`}
        role="dialog"
        aria-modal="true"
        data-testid={props.testId}
      >
        <header className="sw-dialog__header">
          <h2>{props.title}</h2>
          <button className="sw-icon-btn" onClick={props.onClose} aria-label="Close" data-testid={`${props.testId}-close`}>
            <Icon name="close" />
          </button>
        </header>
        <div className="sw-dialog__body">{props.children}</div>
        {props.footer ? <footer className="sw-dialog__footer">{props.footer}</footer> : null}
      </div>
    </div>
  );
}
