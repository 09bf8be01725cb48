function y = binopdf(k, n, p)
  % Shim: the binomial probability mass function, elementwise.
  y = exp(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + k .* log(p) + (n - k) .* log1p(-p));
  y(k == 0 & p == 0) = 1;
  y(k == n & p == 1) = 1;
end
