import * as EciModels from "@alicloud/eci20180808"
import * as OpenApi from "@alicloud/openapi-client"
import * as $tea from "@alicloud/tea-typescript"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { SdkClientClass } from "../../../src/eci/sdkTransport.ts"

/**
 * Test helper: what the real SDK puts on the wire for a wire-shaped request. Runs the unmodified
 * SDK against an in-process loopback server that records the request and answers `{}`.
 */
export interface Captured {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
}

const SdkClient = SdkClientClass as new(config: OpenApi.Config) => Record<string, (request: unknown) => Promise<unknown>>

export const captureSdkRequest = (action: string, request: Record<string, unknown>): Promise<Captured> =>
  new Promise((resolve, reject) => {
    let captured: Captured | undefined
    const server = createServer({ maxHeaderSize: 16 * 1024 * 1024 }, (req, res) => {
      captured = { method: req.method ?? "", url: req.url ?? "", headers: req.headers }
      res.writeHead(200, { "content-type": "application/json;charset=utf-8" })
      res.end(JSON.stringify({ RequestId: "CAPTURED" }))
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      const client = new SdkClient(
        new OpenApi.Config({
          accessKeyId: "AK",
          accessKeySecret: "SK",
          endpoint: `127.0.0.1:${port}`,
          protocol: "HTTP",
          regionId: "cn-hangzhou",
          readTimeout: 10_000,
          connectTimeout: 10_000
        })
      )
      const Model = (EciModels as unknown as Record<string, new(m: object) => $tea.Model>)[`${action}Request`]!
      const method = action.charAt(0).toLowerCase() + action.slice(1)
      client[method]!($tea.cast(request, new Model({})))
        .then(() => resolve(captured!), reject)
        .finally(() => server.close())
    })
  })
