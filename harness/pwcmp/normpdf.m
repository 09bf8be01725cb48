function y = normpdf(x, mu, sigma)
  % Shim: the normal density.
  y = exp(-0.5 * ((x - mu) ./ sigma).^2) ./ (sigma * sqrt(2 * pi));
end
