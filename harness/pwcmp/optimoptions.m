function opt = optimoptions(varargin)
  % Shim for MATLAB's optimoptions: pwcmp asks fminunc for its analytic gradient, quietly.
  opt = optimset('GradObj', 'on', 'Display', 'off', 'TolX', 1e-10, 'TolFun', 1e-10, 'MaxIter', 2000);
end
