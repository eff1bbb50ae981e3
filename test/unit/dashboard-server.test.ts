// The cookie renaming of the dashboard page served by the CLI (src/cli/dashboard-server.ts): a
// browser keeps cookies per host, not per port, so each local server names the broker's cookies
// with its port, takes back only its own, and drops `Secure` (127.0.0.1 is plain http).
import { describe, expect, test } from "bun:test";
import { cookieForBrowser, cookiesForBroker } from "../../src/cli/dashboard-server.ts";

describe("cookies between the browser and the broker", () => {
  test("a broker cookie is renamed with the port and loses Secure, whatever its case or place", () => {
    expect(cookieForBrowser("cm_dashboard=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure", 4321)).toBe("cm_dashboard_4321=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800");
    expect(cookieForBrowser("cm_operator=x; secure; Path=/", 80)).toBe("cm_operator_80=x; Path=/");
    expect(cookieForBrowser("cm_dashboard=; Path=/; Max-Age=0", 9)).toBe("cm_dashboard_9=; Path=/; Max-Age=0");
  });

  test("a cookie the broker has no business setting is not passed to the browser", () => {
    expect(cookieForBrowser("tracker=1; Path=/", 4321)).toBeNull();
    expect(cookieForBrowser("cm_dashboard_1=abc", 4321)).toBeNull();
    expect(cookieForBrowser("garbage", 4321)).toBeNull();
  });

  test("only this port's cookies reach the broker, under the broker's names, and only those it opened", () => {
    const jar = "cm_dashboard_4321=mine; cm_dashboard_5555=theirs; cm_operator_4321=op; cm_dashboard=bare; other=1; =x; junk";
    const any = () => true;
    expect(cookiesForBroker(jar, 4321, any)).toBe("cm_dashboard=mine; cm_operator=op");
    expect(cookiesForBroker(jar, 5555, any)).toBe("cm_dashboard=theirs");
    expect(cookiesForBroker(jar, 1, any)).toBeNull();
    expect(cookiesForBroker(null, 4321, any)).toBeNull();
    expect(cookiesForBroker(jar, 4321, (v) => v === "op")).toBe("cm_operator=op");
    expect(cookiesForBroker(jar, 4321, () => false)).toBeNull();
    // A second value of the name, sent first (another port's page set it with a longer Path),
    // does not hide the session this server opened.
    expect(cookiesForBroker("cm_dashboard_4321=planted; cm_dashboard_4321=mine", 4321, (v) => v === "mine")).toBe("cm_dashboard=mine");
  });
});
