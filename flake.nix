{
  description = "eci-virtual-node: a virtual kubelet that runs Kubernetes pods as Alibaba Cloud ECI container groups";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = import nixpkgs { inherit system; };
        nodejs = pkgs.nodejs_24;
      in
      {
        # `nix develop`: what `npm ci && npm test` needs. Go (>= 1.26) builds the Kubernetes
        # control-plane binaries for the end-to-end tests and the sandbox.
        devShells.default = pkgs.mkShell {
          packages = [ nodejs pkgs.go pkgs.kubectl pkgs.openssl pkgs.git ];
        };

        # `nix build`: the compiled product, runnable as `result/bin/eci-virtual-node run`.
        # npmDepsHash must be refreshed when package-lock.json changes (nix prints the right one).
        packages.default = pkgs.buildNpmPackage {
          pname = "eci-virtual-node";
          version = "0.1.0";
          src = ./.;
          inherit nodejs;
          npmDepsHash = pkgs.lib.fakeHash;
          npmBuildScript = "build";
          installPhase = ''
            runHook preInstall
            mkdir -p $out/lib/eci-virtual-node $out/bin
            cp -r dist node_modules package.json $out/lib/eci-virtual-node/
            makeWrapper ${nodejs}/bin/node $out/bin/eci-virtual-node \
              --add-flags $out/lib/eci-virtual-node/dist/main.js
            runHook postInstall
          '';
        };
      });
}
