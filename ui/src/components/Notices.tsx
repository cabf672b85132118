// The banner (a lasting message above the canvas, such as a failed import) and toasts (brief ones).

import { useEffect, useState } from "react";
import { designer, useDesigner } from "../store";
import { Icon } from "./Icon";

export function BannerBar() {
  const banner = useDesigner((s) => s.banner);
  if (!banner) return null;
  return (
    <div className={`sw-banner is-${banner.kind}`} role="alert" data-testid={`banner-${banner.kind}`}>
      <Icon name={banner.kind === "success" ? "check" : banner.kind === "info" ? "info" : "alert"} />
      <div className="sw-banner__text">
        <strong>{banner.title}</strong>
        {banner.detail ? <span> {banner.detail}</span> : null}
      </div>
      <button className="sw-icon-btn" aria-label="Dismiss" onClick={() => designer.getState().showBanner(null)} data-testid="banner-dismiss">
        <Icon name="close" />
      </button>
    </div>
  );
}

export function ToastHost() {
  const toast = useDesigner((s) => s.toast);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    if (!toast) return;
    setVisible(true);
    const t = setTimeout(() => setVisible(false), toast.kind === "error" ? 6000 : 3000);
    return () => clearTimeout(t);
  }, [toast]);
  if (!toast || !visible) return null;
  return (
    <div className={`sw-toast is-${toast.kind}`} role="status" aria-live="polite" data-testid={`toast-${toast.kind}`}>
      <Icon name={toast.kind === "error" ? "alert" : toast.kind === "success" ? "check" : "info"} />
      <span>{toast.text}</span>
    </div>
  );
}
